"""``python -m pywatt run ...``: the embedded orchestrator's command line."""

from pywatt.orchestrator import main

raise SystemExit(main())
