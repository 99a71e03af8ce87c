"""Batch clusters of Dask workers: CERN's HTCondor pool from lxplus, and Slurm sites.

Settings come from the ``[cluster.lxplus]``, ``[cluster.slurm]`` and ``[cluster.tls]`` tables of an
``hzx.toml`` (see ``examples/hzx.toml``), then from command-line overrides
(:func:`load_settings`). Whatever these settings do not cover keeps dask-jobqueue's own
configuration (``jobqueue.cern.*``, ``jobqueue.slurm.*`` in ``~/.config/dask/``).

Backends
--------
``lxplus``
    :class:`dask_lxplus.CernCluster` (a :class:`dask_jobqueue.HTCondorCluster` with CERN's submit
    options: ``condor_submit -spool``, worker ports 10000–10100, the worker container or the LCG
    environment, ``MY.IsDaskWorker``). hzx adds the job flavour, the x509 proxy, the EOS token and
    the Kerberos credential. The scheduler runs in this process and listens on the login node's
    *public* interface at port 8786 — the port lxplus opens for Dask — because the workers connect
    to it from the batch nodes. This is the one place where hzx listens beyond 127.0.0.1, and only
    when a cluster is really started (:func:`batch_client`); rendering a job script
    (:func:`job_script`) binds to 127.0.0.1 and closes at once. The dashboard stays on
    127.0.0.1:8787: reach it with ``ssh -L 8787:localhost:8787 lxplusNNN.cern.ch``.
``slurm``
    :class:`dask_jobqueue.SLURMCluster`; the scheduler listens on the host's address (or
    ``interface``) at ``scheduler_port`` (0: any free port), the dashboard on 127.0.0.1.

Units: memory and disk are byte strings such as ``"2GB"`` or ``"3.5GiB"`` (per job, shared by the
job's worker processes); walltime is ``"HH:MM:SS"``; timeouts are in seconds.

Nothing here submits a job except :func:`batch_client` (through adaptive scaling).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import socket
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hzx.errors import ConfigurationError, HzxError
from hzx.options import parse_assignments
from hzx.runner.loggers import restored_levels, set_levels

BACKENDS = ("lxplus", "slurm")

#: Default worker container: coffea's Dask image, unpacked on CVMFS (readable on every lxbatch node).
COFFEA_IMAGE = (
    "/cvmfs/unpacked.cern.ch/registry.hub.docker.com/coffeateam/coffea-dask-almalinux9:latest"
)

#: CERN HTCondor job flavours → maximum wall time (batchdocs.web.cern.ch, "Job flavours").
JOB_FLAVOURS = {
    "espresso": "00:20:00",
    "microcentury": "01:00:00",
    "longlunch": "02:00:00",
    "workday": "08:00:00",
    "tomorrow": "1-00:00:00",
    "testmatch": "3-00:00:00",
    "nextweek": "7-00:00:00",
}

#: The ports lxplus opens for Dask: the scheduler's (workers on lxbatch connect to it) and the
#: dashboard's. Worker ports 10000–10100 are set by dask-lxplus itself (``--worker-port``).
LXPLUS_SCHEDULER_PORT = 8786
LXPLUS_DASHBOARD_PORT = 8787

_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:[0-5]\d:[0-5]\d$")


def _check_bytes(name: str, value: str) -> None:
    from dask.utils import parse_bytes

    try:
        if parse_bytes(value) <= 0:
            raise ValueError
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{name} = {value!r} is not an amount of memory such as '2GB' or '3.5GiB'"
        ) from None


def _check_common(s: Any) -> None:
    if s.cores < 1:
        raise ConfigurationError(f"cores must be ≥ 1, got {s.cores}")
    if s.processes < 0 or s.processes > s.cores:
        raise ConfigurationError(
            f"processes must be between 0 (one per core) and cores={s.cores}, got {s.processes}")
    if s.minimum_jobs < 0 or s.maximum_jobs < max(1, s.minimum_jobs):
        raise ConfigurationError(
            f"need 0 ≤ minimum_jobs ≤ maximum_jobs and maximum_jobs ≥ 1, got "
            f"minimum_jobs={s.minimum_jobs}, maximum_jobs={s.maximum_jobs}")
    if not 0 <= s.scheduler_port <= 65535:
        raise ConfigurationError(f"scheduler_port must be 0–65535, got {s.scheduler_port}")
    if s.death_timeout <= 0:
        raise ConfigurationError(f"death_timeout must be > 0 seconds, got {s.death_timeout}")
    if s.startup_timeout <= 0:
        raise ConfigurationError(f"startup_timeout must be > 0 seconds, got {s.startup_timeout}")
    _check_bytes("memory", s.memory)
    object.__setattr__(s, "setup_commands", tuple(str(c) for c in s.setup_commands))


@dataclasses.dataclass(frozen=True)
class LxplusSettings:
    """Dask workers as HTCondor jobs in CERN's batch pool, submitted from lxplus.

    Attributes
    ----------
    job_flavour : str
        ``MY.JobFlavour``, the wall-time class of each job: espresso (20 min), microcentury (1 h),
        longlunch (2 h), workday (8 h), tomorrow (1 d), testmatch (3 d), nextweek (1 week).
        Workers die when their job does; adaptive scaling submits new ones.
    cores : int
        CPU cores per job (``RequestCpus``).
    processes : int
        Dask worker processes per job; 0 means one single-threaded worker per core.
    memory : str
        Memory per job (``RequestMemory``), e.g. ``"2GB"``: CERN's slots give 2 GB per core.
    disk : str
        Scratch disk per job (``RequestDisk``), e.g. ``"20GB"``.
    worker_image : str
        Container the workers run in (``MY.SingularityImage``), a path under
        /cvmfs/unpacked.cern.ch; its Python and packages must match the client's.
    container_runtime : str
        ``"singularity"`` (CERN's apptainer), ``"docker"`` or ``"none"``.
    lcg_view : str
        Instead of a container: the setup script of an LCG view, e.g.
        ``/cvmfs/sft.cern.ch/lcg/views/LCG_107/x86_64-el9-gcc14-opt/setup.sh``. The jobs source
        it and get this process's environment (``getenv``); run hzx from the same view.
    python : str
        Python the workers run; empty: ``python`` inside a container, else this interpreter.
    x509_proxy : str
        Grid proxy forwarded to the jobs (``x509userproxy``: HTCondor copies it and sets
        ``X509_USER_PROXY``). ``"auto"``: ``$X509_USER_PROXY`` or ``/tmp/x509up_u<uid>`` when that
        file exists; ``""``: none.
    eos_token : str
        An EOS / WLCG bearer token file copied into the job (``transfer_input_files``), where
        ``BEARER_TOKEN_FILE`` points to it. ``"auto"``: ``$BEARER_TOKEN_FILE`` if it exists; ``""``:
        none.
    send_credential : bool
        ``MY.SendCredential = True``: forward the Kerberos credential (EOS and AFS over FUSE).
    scheduler_host : str
        Host name the scheduler listens on and workers connect to; empty: this host's name
        (``lxplusNNN.cern.ch``).
    scheduler_port : int
        Scheduler port; lxplus opens 8786 for Dask — keep it unless CERN says otherwise.
    dashboard_address : str
        Where the dashboard listens; ``"127.0.0.1:8787"`` keeps it private (ssh tunnel), ``""``
        switches it off.
    minimum_jobs, maximum_jobs : int
        Bounds of adaptive scaling (jobs, not workers).
    log_directory : str
        Folder of the workers' stdout/stderr/HTCondor logs; under /eos/user it is written through
        XRootD by dask-lxplus. Empty: no logs. The folder is created when a job object is built.
    batch_name : str
        ``JobBatchName`` shown by ``condor_q``.
    death_timeout : int
        Seconds a worker waits for a vanished scheduler before it exits.
    startup_timeout : int
        Seconds to wait for the first worker to join (jobs queue, start, connect); then the run
        stops with an error naming the jobs' states instead of waiting for ever.
    setup_commands : tuple of str
        Shell commands run in the job before the worker starts (e.g. ``export PYTHONPATH=…``
        so that hzx is importable).
    job_extra_directives : mapping of str → str
        Further HTCondor submit commands, e.g. ``{"requirements": '(OpSysAndVer =?= "AlmaLinux9")'}``.
    """

    job_flavour: str = "longlunch"
    cores: int = 1
    processes: int = 0
    memory: str = "2GB"
    disk: str = "20GB"
    worker_image: str = COFFEA_IMAGE
    container_runtime: str = "singularity"
    lcg_view: str = ""
    python: str = ""
    x509_proxy: str = "auto"
    eos_token: str = "auto"
    send_credential: bool = True
    scheduler_host: str = ""
    scheduler_port: int = LXPLUS_SCHEDULER_PORT
    dashboard_address: str = f"127.0.0.1:{LXPLUS_DASHBOARD_PORT}"
    minimum_jobs: int = 0
    maximum_jobs: int = 10
    log_directory: str = ""
    batch_name: str = "hzx-dask-worker"
    death_timeout: int = 60
    startup_timeout: int = 600
    setup_commands: tuple[str, ...] = ()
    job_extra_directives: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.job_flavour not in JOB_FLAVOURS:
            raise ConfigurationError(
                f"job_flavour {self.job_flavour!r} is not a CERN job flavour; choose one of "
                f"{', '.join(JOB_FLAVOURS)}")
        if self.container_runtime not in ("singularity", "docker", "none"):
            raise ConfigurationError(
                f"container_runtime {self.container_runtime!r}: choose singularity, docker or none")
        _check_common(self)
        _check_bytes("disk", self.disk)
        object.__setattr__(self, "job_extra_directives",
                           {str(k): str(v) for k, v in dict(self.job_extra_directives).items()})

    def __hash__(self) -> int:  # the directives are a dict: hash their items
        return hash(tuple((f.name, str(getattr(self, f.name))) for f in dataclasses.fields(self)))


@dataclasses.dataclass(frozen=True)
class SlurmSettings:
    """Dask workers as Slurm jobs.

    Attributes
    ----------
    queue : str
        Partition (``#SBATCH -p``); empty: the site's default.
    account : str
        Account charged (``#SBATCH -A``); empty: none given.
    walltime : str
        Wall time per job, ``"HH:MM:SS"`` (or ``"D-HH:MM:SS"``).
    cores : int
        CPU cores per job (``--cpus-per-task``).
    processes : int
        Dask worker processes per job; 0 means one single-threaded worker per core.
    memory : str
        Memory per job (``--mem``), e.g. ``"4GB"``.
    python : str
        Python the workers run; empty: this interpreter (a shared file system is assumed).
    interface : str
        Network interface for scheduler and workers (e.g. ``"ib0"``); empty: the host name.
    scheduler_host : str
        Address the scheduler listens on; empty: this host's name (or ``interface``).
    scheduler_port : int
        Scheduler port; 0: any free port.
    dashboard_address : str
        Where the dashboard listens; ``"127.0.0.1:8787"`` keeps it private, ``""`` switches it off.
    minimum_jobs, maximum_jobs : int
        Bounds of adaptive scaling (jobs).
    log_directory : str
        Folder of the jobs' output (``#SBATCH -e/-o``); empty: Slurm's default.
    local_directory : str
        Workers' scratch space, e.g. ``"$TMPDIR"``; empty: dask's default.
    job_name : str
        ``#SBATCH -J``.
    death_timeout : int
        Seconds a worker waits for a vanished scheduler before it exits.
    startup_timeout : int
        Seconds to wait for the first worker to join (jobs queue, start, connect); then the run
        stops with an error naming the jobs' states instead of waiting for ever.
    setup_commands : tuple of str
        Shell commands run before the worker starts (``module load …``, ``source venv/bin/activate``).
    job_extra_directives : tuple of str
        Further ``#SBATCH`` options, e.g. ``("--constraint=cpu", "--qos=normal")``.
    """

    queue: str = ""
    account: str = ""
    walltime: str = "01:00:00"
    cores: int = 1
    processes: int = 0
    memory: str = "2GB"
    python: str = ""
    interface: str = ""
    scheduler_host: str = ""
    scheduler_port: int = 0
    dashboard_address: str = "127.0.0.1:8787"
    minimum_jobs: int = 0
    maximum_jobs: int = 10
    log_directory: str = ""
    local_directory: str = ""
    job_name: str = "hzx-dask-worker"
    death_timeout: int = 60
    startup_timeout: int = 600
    setup_commands: tuple[str, ...] = ()
    job_extra_directives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _WALLTIME.match(self.walltime):
            raise ConfigurationError(
                f"walltime {self.walltime!r} is not of the form HH:MM:SS (or D-HH:MM:SS)")
        _check_common(self)
        object.__setattr__(self, "job_extra_directives",
                           tuple(str(d) for d in self.job_extra_directives))


@dataclasses.dataclass(frozen=True)
class TLSSettings:
    """Certificates for ``tls://`` schedulers (PEM files).

    Attributes
    ----------
    ca_file : str
        Certificate authority that signed the scheduler's (and workers') certificates.
    cert : str
        This side's certificate (may also hold the key).
    key : str
        This side's private key; empty if ``cert`` holds it.
    require_encryption : bool
        Refuse unencrypted connections.
    """

    ca_file: str = ""
    cert: str = ""
    key: str = ""
    require_encryption: bool = True

    @property
    def configured(self) -> bool:
        return bool(self.ca_file or self.cert)


_SETTINGS = {"lxplus": LxplusSettings, "slurm": SlurmSettings, "tls": TLSSettings}


# ---------------------------------------------------------------------------------------------
# Reading settings
# ---------------------------------------------------------------------------------------------


#: hzx setting → dask-jobqueue configuration key (``jobqueue.slurm.*`` / ``jobqueue.cern.*``)
_JOBQUEUE_KEYS = {
    "slurm": {"queue": "queue", "account": "account", "walltime": "walltime", "cores": "cores",
              "processes": "processes", "memory": "memory", "python": "python",
              "interface": "interface", "local_directory": "local-directory",
              "log_directory": "log-directory", "job_name": "name",
              "death_timeout": "death-timeout", "setup_commands": "job-script-prologue",
              "job_extra_directives": "job-extra-directives"},
    "lxplus": {"cores": "cores", "processes": "processes", "memory": "memory", "disk": "disk",
               "python": "python", "log_directory": "log-directory",
               "batch_name": "batch-name", "death_timeout": "death-timeout",
               "worker_image": "worker-image", "container_runtime": "container-runtime",
               "setup_commands": "job-script-prologue",
               "job_extra_directives": "job-extra-directives"},
}
_JOBQUEUE_SECTION = {"slurm": ("dask_jobqueue", "jobqueue.yaml", "slurm"),
                     "lxplus": ("dask_lxplus", "jobqueue-cern.yaml", "cern")}


def _canonical(d: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).replace("_", "-"): v for k, v in d.items()}


def jobqueue_config(backend: str) -> dict[str, Any]:
    """The user's own dask-jobqueue settings of ``backend``, as hzx settings.

    Values of ``jobqueue.slurm.*`` (lxplus: ``jobqueue.cern.*``) in dask's configuration
    (``~/.config/dask/jobqueue.yaml``, ``DASK_JOBQUEUE__SLURM__QUEUE=…``) that differ from the
    defaults shipped with dask-jobqueue / dask-lxplus. :func:`load_settings` uses them for the
    keys that hzx.toml and ``--set`` leave out.
    """
    import importlib.util

    import dask
    import yaml

    if backend not in _JOBQUEUE_SECTION:
        return {}
    package, filename, section = _JOBQUEUE_SECTION[backend]
    shipped: dict[str, Any] = {}
    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / filename
        if path.is_file():
            shipped = _canonical(((yaml.safe_load(path.read_text()) or {}).get("jobqueue") or {})
                                 .get(section) or {})
    user = _canonical(dask.config.get(f"jobqueue.{section}", default={}) or {})
    out: dict[str, Any] = {}
    for name, key in _JOBQUEUE_KEYS[backend].items():
        value = user.get(key)
        if value is None or value == shipped.get(key) or value in ([], {}, ""):
            continue
        if name == "processes" and value == 0:
            continue
        out[name] = value
    return out


def default_config_path() -> Path | None:
    """``./hzx.toml`` if it exists, else ``None``."""
    path = Path("hzx.toml")
    return path if path.is_file() else None


def load_settings(
    backend: str,
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> LxplusSettings | SlurmSettings | TLSSettings:
    """Settings of ``backend`` (``"lxplus"``, ``"slurm"`` or ``"tls"``).

    Start from hzx's defaults, then the user's own dask-jobqueue configuration
    (:func:`jobqueue_config`), then read the ``[cluster.<backend>]`` table of ``path`` (default:
    ``./hzx.toml`` if present), then apply ``overrides`` (values may be strings from the command
    line, read in the one grammar of :mod:`hzx.options`: as TOML values, so ``cores=4`` is an
    integer; a bare text for a list setting is split at commas, so an item holding a comma is
    written as a list, ``'job_extra_directives=["--mail-type=END,FAIL"]'``). An unknown key, or
    a value of the wrong type, raises :class:`~hzx.errors.ConfigurationError` naming the key and
    where it came from.
    """
    import tomllib

    if backend not in _SETTINGS:
        raise ConfigurationError(
            f"unknown cluster backend {backend!r}; choose one of {', '.join(_SETTINGS)}")
    cls = _SETTINGS[backend]
    # one grammar for all three sources (hzx.options): each value must fit its field's type
    values: dict[str, Any] = {}
    if backend in _JOBQUEUE_SECTION:  # the user's dask-jobqueue config
        values |= parse_assignments(cls, jobqueue_config(backend),
                                    f"dask's jobqueue.{_JOBQUEUE_SECTION[backend][2]} "
                                    "configuration")
    if path is None:
        path = default_config_path()
    if path is not None:
        path = Path(path)
        try:
            document = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigurationError(f"{path}: configuration file not found") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigurationError(f"{path}: not valid TOML ({err})") from None
        cluster = document.get("cluster", {})
        table = cluster.get(backend, {}) if isinstance(cluster, Mapping) else {}
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{path}: [cluster.{backend}] must be a table")
        values |= parse_assignments(cls, table, f"[cluster.{backend}] of {path}")
    values |= parse_assignments(cls, overrides or {}, "the command line")
    return cls(**values)


# ---------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------


def _expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


def x509_proxy_path(settings: LxplusSettings) -> str | None:
    """The proxy file to forward: explicit, or ``$X509_USER_PROXY`` / ``/tmp/x509up_u<uid>``."""
    if not settings.x509_proxy:
        return None
    if settings.x509_proxy != "auto":
        return _expand(settings.x509_proxy)
    candidate = os.environ.get("X509_USER_PROXY") or f"/tmp/x509up_u{os.getuid()}"
    return candidate if os.path.isfile(candidate) else None


def eos_token_path(settings: LxplusSettings) -> str | None:
    """The bearer-token file to forward: explicit, or ``$BEARER_TOKEN_FILE`` if it exists."""
    if not settings.eos_token:
        return None
    if settings.eos_token != "auto":
        return _expand(settings.eos_token)
    candidate = os.environ.get("BEARER_TOKEN_FILE", "")
    return candidate if candidate and os.path.isfile(candidate) else None


def tls_security(settings: TLSSettings) -> Any:
    """A ``distributed.security.Security`` for ``tls://`` scheduler addresses.

    The same certificate serves every role (client, scheduler, worker), so the object also
    suits a batch cluster's scheduler. Missing files raise :class:`~hzx.errors.ConfigurationError`.
    """
    from distributed.security import Security

    if not settings.ca_file or not settings.cert:
        raise ConfigurationError("TLS needs ca_file and cert in [cluster.tls] (key if separate)")
    files = {"ca_file": settings.ca_file, "cert": settings.cert, "key": settings.key}
    for name, value in files.items():
        if value and not os.path.isfile(_expand(value)):
            raise ConfigurationError(f"[cluster.tls] {name} = {value!r}: no such file")
    ca, cert = _expand(settings.ca_file), _expand(settings.cert)
    key = _expand(settings.key) if settings.key else None
    roles: dict[str, Any] = {}
    for role in ("client", "scheduler", "worker"):
        roles[f"tls_{role}_cert"] = cert
        roles[f"tls_{role}_key"] = key
    return Security(tls_ca_file=ca, require_encryption=settings.require_encryption, **roles)


# ---------------------------------------------------------------------------------------------
# Clusters
# ---------------------------------------------------------------------------------------------


def _restore_sigint() -> None:
    """Undo dask-jobqueue's SIGINT handler.

    Importing dask_jobqueue (its ``runner`` module) replaces the SIGINT handler with
    ``sys.exit()``: Ctrl-C would end hzx with exit status 0, silently, as if the run had
    succeeded. Put Python's own handler (KeyboardInterrupt) back.
    """
    import signal
    import threading

    handler = signal.getsignal(signal.SIGINT)
    if (getattr(handler, "__module__", "") or "").startswith("dask_jobqueue") and \
            threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _cluster_class(backend: str) -> type:
    """The dask-jobqueue class of ``backend`` (dask-lxplus's ``CernCluster`` for lxplus)."""
    if backend == "lxplus":
        from dask_lxplus import CernCluster

        _restore_sigint()
        return CernCluster
    if backend == "slurm":
        from dask_jobqueue import SLURMCluster

        _restore_sigint()
        return SLURMCluster
    raise ConfigurationError(f"unknown batch backend {backend!r}; choose lxplus or slurm")


def _build_cluster(backend: str, kwargs: dict[str, Any]) -> Any:
    """Construct the cluster; dask-lxplus calls ``warnings.resetwarnings()``, so restore filters."""
    import warnings

    cls = _cluster_class(backend)
    with warnings.catch_warnings():
        return cls(**kwargs)


def _check_backend(backend: str, settings: Any) -> None:
    expected = {"lxplus": LxplusSettings, "slurm": SlurmSettings}.get(backend)
    if expected is None:
        raise ConfigurationError(f"unknown batch backend {backend!r}; choose lxplus or slurm")
    if not isinstance(settings, expected):
        raise ConfigurationError(
            f"backend {backend!r} needs {expected.__name__}, got {type(settings).__name__}")


def scheduler_host(backend: str, settings: LxplusSettings | SlurmSettings) -> str | None:
    """Where a started scheduler listens and workers connect (``None``: the interface's address)."""
    if settings.scheduler_host:
        return settings.scheduler_host
    if backend == "slurm" and settings.interface:
        return None
    return socket.gethostname()


def cluster_kwargs(
    backend: str,
    settings: LxplusSettings | SlurmSettings,
    *,
    render: bool = False,
    tls: TLSSettings | None = None,
) -> dict[str, Any]:
    """Keyword arguments of the cluster class for ``settings``.

    With ``render=True`` the scheduler binds to 127.0.0.1 on a free port without a dashboard —
    for building a job script only. Otherwise it listens where the workers can reach it:
    ``scheduler_host:scheduler_port`` (lxplus: the login node's name, port 8786).
    """
    _check_backend(backend, settings)
    processes = settings.processes or settings.cores
    prologue = list(settings.setup_commands)
    kwargs: dict[str, Any] = {
        "cores": settings.cores,
        "processes": processes,
        "memory": settings.memory,
        "death_timeout": settings.death_timeout,
        "silence_logs": "error",
    }
    if settings.log_directory:
        kwargs["log_directory"] = _expand(settings.log_directory)
    if render:
        scheduler: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "dashboard": False,
                                     "dashboard_address": "127.0.0.1:0"}
    else:
        scheduler = {"port": settings.scheduler_port,
                     "dashboard": bool(settings.dashboard_address)}
        host = scheduler_host(backend, settings)
        if host is not None:
            scheduler["host"] = host
        # without a dashboard the scheduler's HTTP server (health, metrics) stays private too
        scheduler["dashboard_address"] = settings.dashboard_address or "127.0.0.1:0"
    kwargs["scheduler_options"] = scheduler
    if tls is not None and tls.configured:
        kwargs["security"] = tls_security(tls)
        kwargs["protocol"] = "tls://"

    if backend == "lxplus":
        assert isinstance(settings, LxplusSettings)
        directives = {"MY.JobFlavour": f'"{settings.job_flavour}"'}
        proxy = x509_proxy_path(settings)
        if proxy:
            directives["x509userproxy"] = proxy
        token = eos_token_path(settings)
        if token:
            directives["should_transfer_files"] = "YES"
            directives["transfer_input_files"] = token
            prologue.insert(0, f'export BEARER_TOKEN_FILE="$_CONDOR_SCRATCH_DIR/{Path(token).name}"')
        if settings.send_credential:
            directives["MY.SendCredential"] = "True"
        directives.update(settings.job_extra_directives)
        if settings.lcg_view:
            prologue.insert(0, f"source {_expand(settings.lcg_view)}")
        container = "none" if settings.lcg_view else settings.container_runtime
        kwargs.update(
            disk=settings.disk,
            worker_image=settings.worker_image,
            container_runtime=container,
            lcg=bool(settings.lcg_view),
            batch_name=settings.batch_name,
            job_extra_directives=directives,
            python=settings.python or ("python" if container != "none" else sys.executable),
        )
    else:
        assert isinstance(settings, SlurmSettings)
        kwargs.update(
            walltime=settings.walltime,
            job_name=settings.job_name,
            job_extra_directives=list(settings.job_extra_directives),
            python=settings.python or sys.executable,
        )
        if settings.queue:
            kwargs["queue"] = settings.queue
        if settings.account:
            kwargs["account"] = settings.account
        if settings.interface:
            kwargs["interface"] = settings.interface
        if settings.local_directory:
            kwargs["local_directory"] = settings.local_directory
    kwargs["job_script_prologue"] = prologue
    return kwargs


def contact_address(backend: str, settings: LxplusSettings | SlurmSettings,
                    tls: TLSSettings | None = None) -> str:
    """The scheduler address the workers of a started cluster will be given (for display)."""
    protocol = "tls://" if tls is not None and tls.configured else "tcp://"
    host = scheduler_host(backend, settings) or f"<address of {settings.interface}>"
    port = settings.scheduler_port or "<free port>"
    return f"{protocol}{host}:{port}"


def render_job_script(cluster: Any, address: str) -> str:
    """``cluster.job_script()`` with the scheduler address replaced by ``address``."""
    return cluster.job_script().replace(cluster.scheduler_address, address)


def job_script(
    backend: str,
    settings: LxplusSettings | SlurmSettings,
    *,
    tls: TLSSettings | None = None,
) -> str:
    """The batch job script the cluster would submit for each job, as dask-jobqueue renders it.

    The cluster object (``CernCluster`` / ``SLURMCluster``) is built with its scheduler bound to
    127.0.0.1 on a free port and no dashboard, asked for ``job_script()``, and closed; nothing is
    submitted. The script's scheduler address is replaced by the address a started cluster would
    use (:func:`contact_address`). Note: dask-jobqueue creates ``log_directory`` if it is missing.
    """
    cluster = _build_cluster(backend, cluster_kwargs(backend, settings, render=True, tls=tls))
    try:
        return render_job_script(cluster, contact_address(backend, settings, tls))
    finally:
        cluster.close()


def check_credentials(settings: LxplusSettings | SlurmSettings) -> None:
    """Before submitting: the explicitly named proxy and token files must exist."""
    if isinstance(settings, LxplusSettings):
        for name, path in (("x509_proxy", x509_proxy_path(settings)),
                           ("eos_token", eos_token_path(settings))):
            if path and not os.path.isfile(path):
                raise ConfigurationError(
                    f"{name} = {path!r}: no such file (voms-proxy-init / a fresh token, or "
                    f"{name} = \"\" to forward none)")
        if settings.lcg_view and not os.path.isfile(_expand(settings.lcg_view)):
            raise ConfigurationError(f"lcg_view = {settings.lcg_view!r}: no such setup script")


class BatchSystemError(HzxError, RuntimeError):
    """The batch system cannot be reached, refuses the job, or no worker joined in time."""


#: Commands each backend submits with, and the one asked whether its controller answers.
_SUBMIT = {"lxplus": "condor_submit", "slurm": "sbatch"}
_CONTROLLER_TIMEOUT_S = 20


def _first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def check_batch_system(backend: str, settings: LxplusSettings | SlurmSettings,
                       script: str | None = None) -> None:
    """Before any job is submitted: the submit command exists and (Slurm) the controller answers.

    Slurm: ``sinfo`` must answer within 20 s, and ``sbatch --test-only`` must accept the job
    script (partition, account, memory, wall time) when ``script`` is given. Raises
    :class:`BatchSystemError` with one line saying what is wrong.
    """
    import shutil
    import subprocess
    import tempfile

    command = _SUBMIT[backend]
    if shutil.which(command) is None:
        where = ("an lxplus login node (condor_submit)" if backend == "lxplus"
                 else "a Slurm login node (sbatch, sinfo)")
        raise BatchSystemError(f"{command} not found: the {backend} executor submits worker jobs "
                               f"and must run on {where}")
    if backend != "slurm":
        return

    def call(args: list[str]) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(args, capture_output=True, text=True,
                                  timeout=_CONTROLLER_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise BatchSystemError(
                f"no Slurm controller answered `{' '.join(args[:1])}` within "
                f"{_CONTROLLER_TIMEOUT_S} s (is slurmctld running? scontrol ping)") from None

    probe = call(["sinfo", "-h", "-o", "%P %a"])
    if probe.returncode != 0:
        raise BatchSystemError(f"no Slurm controller answers (sinfo: "
                               f"{_first_line(probe.stderr or probe.stdout)})")
    if script is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".sh", prefix="hzx-test-only-") as f:
            f.write(script)
            f.flush()
            test = call(["sbatch", "--test-only", f.name])
        if test.returncode != 0:
            raise BatchSystemError(f"Slurm refuses the worker job (sbatch --test-only: "
                                   f"{_first_line(test.stderr or test.stdout)}); check queue, "
                                   "account, memory and walltime in [cluster.slurm]")


def _job_states(backend: str, job_ids: list[str]) -> str:
    """``"123 PENDING (Resources), 124 RUNNING"`` from squeue, or ``""``."""
    import subprocess

    if backend != "slurm" or not job_ids:
        return ""
    try:
        out = subprocess.run(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T %r"],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return ", ".join(" ".join(line.split()[:2]) + (f" ({line.split()[2]})" if len(line.split()) > 2
                                                    and line.split()[2] != "None" else "")
                     for line in out.splitlines() if line.strip())


def _job_recorder(cluster: Any) -> Any:
    """Scheduler plugin (in this process): which batch jobs' workers finished tasks.

    Worker names are dask-jobqueue's job names (``SLURMCluster-3``, or ``…-3-0`` with several
    processes per job); the cluster's job objects know each name's batch job id.
    """
    from distributed.diagnostics.plugin import SchedulerPlugin

    class JobRecorder(SchedulerPlugin):
        name = "hzx-job-recorder"

        def __init__(self) -> None:
            self.job_of: dict[str, str] = {}
            self.worked: dict[str, int] = {}

        def _job_id(self, name: str) -> str | None:
            jobs = dict(getattr(cluster, "workers", {}) or {})
            for candidate in (name, name.rsplit("-", 1)[0]):
                job = jobs.get(candidate)
                if job is not None and getattr(job, "job_id", None):
                    return str(job.job_id)
            return None

        def add_worker(self, scheduler: Any = None, worker: str = "", **kwargs: Any) -> None:
            ws = scheduler.workers.get(worker) if scheduler is not None else None
            job = self._job_id(str(ws.name)) if ws is not None else None
            if job:
                self.job_of[worker] = job

        def transition(self, key: Any, start: str, finish: str, *args: Any,
                       **kwargs: Any) -> None:
            worker = kwargs.get("worker")
            job = self.job_of.get(worker) if worker else None
            if finish == "memory" and start == "processing" and job:
                self.worked[job] = self.worked.get(job, 0) + 1

    return JobRecorder()


def batch_jobs(client: Any) -> dict[str, int]:
    """Batch job id → tasks its workers finished, for a client of :func:`batch_client`."""
    recorder = getattr(client, "_hzx_job_recorder", None)
    return dict(sorted(recorder.worked.items())) if recorder is not None else {}


def _wait_for_workers(client: Any, cluster: Any, backend: str, n: int, timeout_s: float) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while len(client.scheduler_info(n_workers=-1)["workers"]) < n:
        if time.monotonic() > deadline:
            jobs = [str(j.job_id) for j in dict(cluster.workers).values()
                    if getattr(j, "job_id", None)]
            states = _job_states(backend, jobs)
            raise BatchSystemError(
                f"no {backend} worker joined within {timeout_s:g} s "
                f"({len(jobs)} job(s) submitted{': ' + states if states else ''}); "
                "raise startup_timeout, or check the jobs' logs (log_directory)")
        time.sleep(0.25)


@contextlib.contextmanager
def batch_client(
    backend: str,
    settings: LxplusSettings | SlurmSettings,
    *,
    tls: TLSSettings | None = None,
    wait_for_workers: int = 0,
    timeout_s: float | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client`` on a started batch cluster that scales adaptively.

    First checks the batch system (:func:`check_batch_system`: the submit command, and for Slurm
    the controller and ``sbatch --test-only`` of the job script). Then starts the scheduler in
    this process (lxplus: on the login node's public interface, port 8786, where lxbatch
    workers can reach it), calls ``cluster.adapt(minimum_jobs=…, maximum_jobs=…)`` — jobs are
    submitted as tasks arrive — and optionally waits for ``wait_for_workers`` workers
    (``timeout_s`` seconds, default ``settings.startup_timeout``): none in time raises
    :class:`BatchSystemError`. The batch jobs whose workers finished tasks are recorded
    (:func:`batch_jobs`). The client and the cluster (and with it every job) are closed when
    the context ends.
    """
    check_credentials(settings)
    check_batch_system(backend, settings)
    with restored_levels(("distributed",)):
        yield from _batch_client(backend, settings, tls=tls, wait_for_workers=wait_for_workers,
                                 timeout_s=timeout_s)


def _batch_client(backend: str, settings: LxplusSettings | SlurmSettings, *,
                  tls: TLSSettings | None, wait_for_workers: int, timeout_s: float | None
                  ) -> Iterator[Any]:
    from distributed import Client

    cluster = _build_cluster(backend, cluster_kwargs(backend, settings, tls=tls))
    try:
        if backend == "slurm":
            check_batch_system(backend, settings, cluster.job_script())
        recorder = _job_recorder(cluster)
        cluster.scheduler.add_plugin(recorder, name=recorder.name)
        minimum = settings.minimum_jobs
        if wait_for_workers:  # keep the awaited workers: an idle one would be scaled away
            per_job = settings.processes or settings.cores
            minimum = min(max(minimum, -(-wait_for_workers // per_job)), settings.maximum_jobs)
        cluster.adapt(minimum_jobs=minimum, maximum_jobs=settings.maximum_jobs)
        client = Client(cluster)  # takes the cluster's Security, if any
        client._hzx_job_recorder = recorder
        try:
            if wait_for_workers:
                _wait_for_workers(client, cluster, backend, wait_for_workers,
                                  timeout_s if timeout_s is not None else settings.startup_timeout)
            yield client
        except BaseException:
            # stopping early (error, Ctrl-C): closing workers that are busy logs noise
            set_levels(logging.CRITICAL, ("distributed",))
            raise
        finally:
            client.close()
    finally:
        cluster.close()


def describe(settings: Any) -> str:
    """The effective settings, one ``key = value`` a line (TOML-like)."""
    lines = []
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        lines.append(f"{field.name} = {value!r}")
    return "\n".join(lines)
