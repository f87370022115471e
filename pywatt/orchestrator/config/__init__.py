"""What to run: the manifest and module specs, actor and file names, the run directory."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._manifest import ChannelOptions as ChannelOptions
    from ._manifest import Manifest as Manifest
    from ._manifest import ModuleKind as ModuleKind
    from ._manifest import ModuleSpec as ModuleSpec
    from ._manifest import RestartPolicy as RestartPolicy
    from ._manifest import TlsFiles as TlsFiles
    from ._manifest import load_manifest as load_manifest
    from ._manifest import module_from_file as module_from_file
    from ._manifest import parse_secret_assignment as parse_secret_assignment
    from ._names import DEFAULT_MANIFEST as DEFAULT_MANIFEST
    from ._names import GATEWAY_NAME as GATEWAY_NAME
    from ._names import process_name as process_name
    from ._names import supervisor_name as supervisor_name
    from ._run_dir import ensure_run_dir as ensure_run_dir

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._manifest": [
            "ChannelOptions",
            "Manifest",
            "ModuleKind",
            "ModuleSpec",
            "RestartPolicy",
            "TlsFiles",
            "load_manifest",
            "module_from_file",
            "parse_secret_assignment",
        ],
        "._names": ["DEFAULT_MANIFEST", "GATEWAY_NAME", "process_name", "supervisor_name"],
        "._run_dir": ["ensure_run_dir"],
    },
)
