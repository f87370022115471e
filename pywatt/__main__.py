"""``python -m pywatt run ...``: the embedded orchestrator's command line."""

from pywatt.orchestrator._cli import main

raise SystemExit(main())
