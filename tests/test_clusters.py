"""Batch clusters (hzx.runner.clusters, `hzx cluster`): settings, job scripts, TLS, lifecycle.

The expected job scripts are rendered here by dask-lxplus / dask-jobqueue themselves from the same
parameters, written out independently of hzx.runner.clusters.cluster_kwargs, and compared in full; the
CERN directives are then checked one by one. No batch system is needed and nothing is submitted.
"""

from __future__ import annotations

import datetime
import os
import sys
import warnings
from pathlib import Path

import pytest

from hzx.errors import ConfigurationError
from hzx.options import split_assignments
from hzx.runner import clusters

HOST = "lxplus123.cern.ch"
IMAGE = clusters.COFFEA_IMAGE

TOML = """
[cluster.lxplus]
job_flavour = "workday"
cores = 4
memory = "8GB"
disk = "40GB"
maximum_jobs = 25
setup_commands = ["export PYTHONPATH=/afs/cern.ch/user/u/user/hzx:$PYTHONPATH"]
[cluster.lxplus.job_extra_directives]
requirements = '(OpSysAndVer =?= "AlmaLinux9")'

[cluster.slurm]
queue = "short"
account = "cms"
walltime = "02:30:00"
cores = 8
memory = "16GB"
job_extra_directives = ["--constraint=cpu"]

[cluster.tls]
require_encryption = true
"""


def _listening_ports() -> set[int]:
    import psutil

    return {c.laddr.port for c in psutil.Process().net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "hzx.toml"
    path.write_text(TOML)
    return path


@pytest.fixture
def proxy(tmp_path: Path) -> Path:
    path = tmp_path / "x509up_u1000"
    path.write_text("not a real proxy\n")
    return path


@pytest.fixture(autouse=True)
def _no_submission(request, monkeypatch):
    """Any attempt to run condor_submit / sbatch fails the test (but with the local stand-in)."""
    from dask_jobqueue.core import Job

    if "condor_standin" in request.fixturenames:
        return

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"a job was submitted: {args}")

    monkeypatch.setattr(Job, "_call", refuse)
    monkeypatch.setattr(Job, "_submit_job", refuse)


# ------------------------------------------------------------------------------ settings


def test_settings_from_toml_and_overrides(config):
    s = clusters.load_settings("lxplus", config, {"cores": "2", "job_flavour": "tomorrow",
                                                  "send_credential": "false"})
    assert isinstance(s, clusters.LxplusSettings)
    assert (s.cores, s.job_flavour, s.memory, s.disk, s.maximum_jobs) == (2, "tomorrow", "8GB",
                                                                           "40GB", 25)
    assert s.send_credential is False
    assert s.setup_commands == ("export PYTHONPATH=/afs/cern.ch/user/u/user/hzx:$PYTHONPATH",)
    assert s.job_extra_directives == {"requirements": '(OpSysAndVer =?= "AlmaLinux9")'}
    assert s.scheduler_port == 8786 and s.dashboard_address == "127.0.0.1:8787"

    slurm = clusters.load_settings("slurm", config, split_assignments(
        ["walltime=04:00:00", 'setup_commands=["module load python", "source venv/bin/activate"]']))
    assert (slurm.queue, slurm.account, slurm.walltime, slurm.cores) == ("short", "cms",
                                                                          "04:00:00", 8)
    assert slurm.job_extra_directives == ("--constraint=cpu",)
    assert slurm.setup_commands == ("module load python", "source venv/bin/activate")
    assert clusters.load_settings("tls", config).require_encryption is True


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./hzx.toml
    assert clusters.load_settings("lxplus") == clusters.LxplusSettings()
    (tmp_path / "hzx.toml").write_text('[cluster.slurm]\nqueue = "long"\n')
    assert clusters.load_settings("slurm").queue == "long"


def test_unknown_key_names_key_and_file(config):
    config.write_text(TOML.replace('job_flavour = "workday"', 'job_flavor = "workday"'))
    with pytest.raises(ConfigurationError, match=r"'job_flavor'.*\[cluster\.lxplus\].*hzx\.toml"):
        clusters.load_settings("lxplus", config)
    with pytest.raises(ConfigurationError, match=r"'nodes'.*command line"):
        clusters.load_settings("slurm", config, {"nodes": "3"})
    with pytest.raises(ConfigurationError, match="cores = 'four'"):
        clusters.load_settings("slurm", config, {"cores": "four"})
    with pytest.raises(ConfigurationError, match="bad assignment 'cores': expected KEY=VALUE"):
        split_assignments(["cores"])
    with pytest.raises(ConfigurationError,
                       match="require_encryption = 'maybe' in the command line: expected bool"):
        clusters.load_settings("tls", config, {"require_encryption": "maybe"})


def test_cluster_settings_read_in_the_one_grammar(config):
    """hzx.options: keys with - or _, TOML values, a bare text split at commas for a list."""
    s = clusters.load_settings("slurm", config, split_assignments(
        ["job-name=hzx-test", "maximum-jobs=3", "job_extra_directives=--qos=normal,--exclusive",
         'setup_commands=["export A=1,2"]']))
    assert (s.job_name, s.maximum_jobs) == ("hzx-test", 3)
    assert s.job_extra_directives == ("--qos=normal", "--exclusive")
    assert s.setup_commands == ("export A=1,2",)
    with pytest.raises(ConfigurationError, match="not found"):
        clusters.load_settings("lxplus", config.parent / "missing.toml")


@pytest.mark.parametrize("kwargs, match", [
    ({"job_flavour": "lunch"}, "job flavour"),
    ({"memory": "lots"}, "memory"),
    ({"minimum_jobs": 5, "maximum_jobs": 2}, "minimum_jobs"),
    ({"container_runtime": "podman"}, "container_runtime"),
])
def test_lxplus_validation(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        clusters.LxplusSettings(**kwargs)


def test_slurm_walltime_validation():
    with pytest.raises(ConfigurationError, match="HH:MM:SS"):
        clusters.SlurmSettings(walltime="2h")
    assert clusters.SlurmSettings(walltime="1-12:00:00").walltime == "1-12:00:00"


# ------------------------------------------------------------------------------ job scripts


def _expected(cls, address: str, **kwargs) -> str:
    """What dask-lxplus / dask-jobqueue render for these parameters (localhost, then closed)."""
    with warnings.catch_warnings():
        cluster = cls(scheduler_options={"host": "127.0.0.1", "port": 0, "dashboard": False,
                                         "dashboard_address": "127.0.0.1:0"},
                      silence_logs="error", **kwargs)
    try:
        return cluster.job_script().replace(cluster.scheduler_address, address)
    finally:
        cluster.close()


def test_lxplus_job_script_matches_dask_lxplus(config, proxy, tmp_path):
    from dask_lxplus import CernCluster

    before = _listening_ports()
    logs = tmp_path / "logs"
    settings = clusters.load_settings("lxplus", config, {
        "x509_proxy": str(proxy), "scheduler_host": HOST, "log_directory": str(logs)})
    script = clusters.job_script("lxplus", settings)
    assert _listening_ports() == before, "rendering left a port open"

    expected = _expected(
        CernCluster, f"tcp://{HOST}:8786",
        cores=4, processes=4, memory="8GB", disk="40GB", death_timeout=60,
        log_directory=str(logs), worker_image=IMAGE, container_runtime="singularity", lcg=False,
        batch_name="hzx-dask-worker", python="python",
        job_extra_directives={
            "MY.JobFlavour": '"workday"',
            "x509userproxy": str(proxy),
            "MY.SendCredential": "True",
            "requirements": '(OpSysAndVer =?= "AlmaLinux9")',
        },
        job_script_prologue=["export PYTHONPATH=/afs/cern.ch/user/u/user/hzx:$PYTHONPATH"],
    )
    assert script == expected

    lines = set(script.splitlines())
    for directive in (
        'MY.JobFlavour = "workday"',
        f"x509userproxy = {proxy}",
        f'MY.SingularityImage = "{IMAGE}"',
        "MY.DaskWorkerCores = 4",
        "MY.DaskWorkerMemory = 8000000000",
        "MY.DaskWorkerDisk = 40000000000",
        "RequestMemory = floor(MY.DaskWorkerMemory / 1048576)",
        "RequestCpus = MY.DaskWorkerCores",
        "MY.SendCredential = True",
        'JobBatchName = "hzx-dask-worker"',
        "universe = vanilla",
        "MY.IsDaskWorker = true",
        f"LogDirectory = {logs}",
    ):
        assert directive in lines, directive
    arguments = next(line for line in script.splitlines() if line.startswith("Arguments"))
    assert f"tcp://{HOST}:8786" in arguments
    assert "--worker-port 10000:10100" in arguments  # the range lxbatch allows (dask-lxplus)
    assert "--nworkers 4 " in arguments and "--nthreads 1 " in arguments
    assert "export PYTHONPATH=" in arguments


def test_lxplus_lcg_view_and_eos_token(proxy, tmp_path, monkeypatch):
    token = tmp_path / "eos.token"
    token.write_text("token")
    monkeypatch.setenv("BEARER_TOKEN_FILE", str(token))
    monkeypatch.setenv("X509_USER_PROXY", str(proxy))
    view = "/cvmfs/sft.cern.ch/lcg/views/LCG_107/x86_64-el9-gcc14-opt/setup.sh"
    settings = clusters.LxplusSettings(lcg_view=view, scheduler_host=HOST, send_credential=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dask-lxplus: this Python is not from the LCG stack
        script = clusters.job_script("lxplus", settings)
    lines = set(script.splitlines())
    assert "getenv = true" in lines  # the LCG environment travels with the job
    assert f"x509userproxy = {proxy}" in lines  # "auto": $X509_USER_PROXY
    assert f"transfer_input_files = {token}" in lines
    assert "should_transfer_files = YES" in lines
    assert not any("SingularityImage" in line or "SendCredential" in line for line in lines)
    arguments = next(line for line in script.splitlines() if line.startswith("Arguments"))
    assert f"source {view}; export BEARER_TOKEN_FILE=" in arguments
    assert f"{sys.executable} -m distributed.cli.dask_worker" in arguments


def test_lxplus_without_credentials(tmp_path, monkeypatch):
    monkeypatch.delenv("BEARER_TOKEN_FILE", raising=False)
    monkeypatch.setenv("X509_USER_PROXY", str(tmp_path / "absent"))
    settings = clusters.LxplusSettings(scheduler_host=HOST)
    assert clusters.x509_proxy_path(settings) is None  # auto, and the file is not there
    script = clusters.job_script("lxplus", settings)
    assert "x509userproxy" not in script and "transfer_input_files" not in script
    explicit = clusters.LxplusSettings(x509_proxy=str(tmp_path / "absent"))
    with pytest.raises(ConfigurationError, match=r"x509_proxy.*no such file"):
        clusters.check_credentials(explicit)


def test_slurm_job_script_matches_dask_jobqueue(config):
    from dask_jobqueue import SLURMCluster

    before = _listening_ports()
    settings = clusters.load_settings("slurm", config, {
        "scheduler_host": "login01", "scheduler_port": "8786",
        "setup_commands": '["module load python"]', "local_directory": "$TMPDIR"})
    script = clusters.job_script("slurm", settings)
    assert _listening_ports() == before
    expected = _expected(
        SLURMCluster, "tcp://login01:8786",
        queue="short", account="cms", walltime="02:30:00", cores=8, processes=8, memory="16GB",
        death_timeout=60, job_name="hzx-dask-worker", python=sys.executable,
        local_directory="$TMPDIR", job_extra_directives=["--constraint=cpu"],
        job_script_prologue=["module load python"],
    )
    assert script == expected
    for directive in ("#SBATCH -J hzx-dask-worker", "#SBATCH -p short", "#SBATCH -A cms",
                      "#SBATCH --cpus-per-task=8", "#SBATCH --mem=15G", "#SBATCH -t 02:30:00",
                      "#SBATCH --constraint=cpu", "module load python"):
        assert directive in script.splitlines(), directive
    assert "tcp://login01:8786 " in script and "--local-directory $TMPDIR" in script


# ------------------------------------------------------------------------------ scheduler options


def test_scheduler_options_lxplus_public_slurm_interface():
    import socket

    lx = clusters.cluster_kwargs("lxplus", clusters.LxplusSettings(x509_proxy=""))
    # workers on lxbatch connect to the login node: the public name, the port lxplus opens
    assert lx["scheduler_options"] == {"host": socket.gethostname(), "port": 8786,
                                       "dashboard": True, "dashboard_address": "127.0.0.1:8787"}
    render = clusters.cluster_kwargs("lxplus", clusters.LxplusSettings(), render=True)
    assert render["scheduler_options"] == {"host": "127.0.0.1", "port": 0, "dashboard": False,
                                           "dashboard_address": "127.0.0.1:0"}
    sl = clusters.cluster_kwargs("slurm", clusters.SlurmSettings(interface="ib0",
                                                                dashboard_address=""))
    # host from the interface; no dashboard, and the HTTP server on the loopback interface
    assert sl["scheduler_options"] == {"port": 0, "dashboard": False,
                                       "dashboard_address": "127.0.0.1:0"}
    assert sl["interface"] == "ib0"
    with pytest.raises(ConfigurationError, match="SlurmSettings"):
        clusters.cluster_kwargs("slurm", clusters.LxplusSettings())


def test_batch_client_adapts_and_closes(monkeypatch):
    from distributed import LocalCluster

    seen: dict = {}

    class FakeBatchCluster(LocalCluster):
        def __init__(self, **kwargs):
            seen["kwargs"] = kwargs
            super().__init__(n_workers=1, threads_per_worker=1, processes=False,  # inproc://
                             dashboard_address="127.0.0.1:0",
                             scheduler_kwargs={"dashboard": False}, silence_logs="error")
            seen["cluster"] = self

        def adapt(self, **kwargs):
            seen["adapt"] = kwargs

    monkeypatch.setattr(clusters, "_cluster_class", lambda backend: FakeBatchCluster)
    checks: list = []
    monkeypatch.setattr(clusters, "check_batch_system",
                        lambda backend, settings, script=None: checks.append((backend, script)))
    FakeBatchCluster.job_script = lambda self: "#!/bin/sh\n# job script\n"
    settings = clusters.SlurmSettings(minimum_jobs=1, maximum_jobs=7)
    with clusters.batch_client("slurm", settings, wait_for_workers=1, timeout_s=30) as client:
        assert client.submit(lambda x: x + 1, 1).result() == 2
    assert seen["adapt"] == {"minimum_jobs": 1, "maximum_jobs": 7}
    # the batch system is checked before the cluster starts, then the job script (sbatch --test-only)
    assert checks == [("slurm", None), ("slurm", "#!/bin/sh\n# job script\n")]
    assert clusters.batch_jobs(client) == {}  # the fake's workers belong to no batch job
    assert seen["kwargs"]["walltime"] == "01:00:00"
    assert client.status == "closed"
    assert seen["cluster"].status.name == "closed"


# ------------------------------------------------------------------------------ TLS


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hzx-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def test_tls_security_from_files(tmp_path, config):
    import ssl

    cert, key = _self_signed(tmp_path)
    config.write_text(TOML.replace("[cluster.tls]", f'[cluster.tls]\nca_file = "{cert}"\n'
                                                    f'cert = "{cert}"\nkey = "{key}"'))
    tls = clusters.load_settings("tls", config)
    security = clusters.tls_security(tls)
    assert security.require_encryption
    assert security.tls_ca_file == str(cert) and security.tls_client_key == str(key)
    for role in ("client", "scheduler", "worker"):
        assert isinstance(security.get_connection_args(role)["ssl_context"], ssl.SSLContext)

    script = clusters.job_script("slurm", clusters.SlurmSettings(scheduler_host="login01"),
                                 tls=tls)
    assert "tls://login01:<free port>" in script
    assert f"--tls-ca-file {cert}" in script and f"--tls-key {key}" in script

    with pytest.raises(ConfigurationError, match=r"key.*no such file"):
        clusters.tls_security(clusters.TLSSettings(ca_file=str(cert), cert=str(cert),
                                                   key=str(tmp_path / "nokey.pem")))
    with pytest.raises(ConfigurationError, match="ca_file and cert"):
        clusters.tls_security(clusters.TLSSettings())


# ------------------------------------------------------------------------------ CLI


def test_cli_dry_run(config, proxy, capsys):
    from hzx.scripts.cli import main

    code = main(["cluster", "--backend", "lxplus", "--config", str(config), "--dry-run",
                 "--set", f"x509_proxy={proxy}", "--set", f"scheduler_host={HOST}",
                 "--set", "cores=2", "--set", "memory=4GB"])
    out = capsys.readouterr().out
    assert code == 0
    assert "job_flavour = 'workday'" in out and "cores = 2" in out
    assert f"tcp://{HOST}:8786" in out
    assert 'MY.JobFlavour = "workday"' in out and f"x509userproxy = {proxy}" in out
    assert "MY.DaskWorkerMemory = 4000000000" in out and "nothing was submitted" in out

    code = main(["cluster", "--backend", "slurm", "--config", str(config), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and "#SBATCH -p short" in out and "#SBATCH -t 02:30:00" in out

    code = main(["cluster", "--backend", "slurm", "--config", str(config), "--dry-run",
                 "--set", "partition=long"])
    assert code == 2 and "'partition'" in capsys.readouterr().err


def test_run_with_batch_executor_checks_settings_before_any_work(opendata_dir, tmp_path, capsys):
    """`hzx run --executor lxplus` reads the cluster settings first: a bad one stops the run."""
    from hzx.scripts.cli import main

    fileset = tmp_path / "fs.json"
    main(["samples", "fileset", "--location", str(opendata_dir), "--out", str(fileset)])
    code = main(["run", "fourlep", "--fileset", str(fileset), "--out", str(tmp_path / "o.coffea"),
                 "--executor", "lxplus", "--cluster-set", "job_flavour=forever", "--no-progress"])
    assert code == 2
    assert "forever" in capsys.readouterr().err
    assert not (tmp_path / "o.coffea").exists()


# ------------------------------------------------------------------------------ lxplus, for real

#: A local stand-in for condor_submit / condor_rm: it reads the submit description that
#: dask-lxplus writes, starts its Executable with its Arguments (HTCondor's quoting) on this
#: machine, and answers as condor_submit does; condor_rm kills it.
CONDOR_STANDIN = r"""#!{python}
import os, re, signal, subprocess, sys
from pathlib import Path

state = Path(os.environ["HZX_CONDOR_STANDIN"])
if Path(sys.argv[0]).name == "condor_rm":
    for job in sys.argv[1:]:
        pid = state / (job.split(".")[0] + ".pid")
        if pid.exists():
            try:
                os.killpg(int(pid.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
    print("All jobs marked for removal.")
    sys.exit(0)

def htcondor_args(text):
    # new syntax: "…" with "" for a double quote; words split at spaces; '…' groups, '' is a quote
    text = text.strip()[1:-1].replace('""', '"')
    args, word, quoted, i, started = [], "", False, 0, False
    while i < len(text):
        c = text[i]
        if c == "'":
            if quoted and text[i + 1:i + 2] == "'":
                word += "'"
                i += 1
            else:
                quoted, started = not quoted, True
        elif c == " " and not quoted:
            if word or started:
                args.append(word)
            word, started = "", False
        else:
            word += c
        i += 1
    if word or started:
        args.append(word)
    return args

submit = Path(sys.argv[-1]).read_text()
header = dict(re.findall(r"^(\w[\w.]*) = (.*)$", submit, re.M))
cluster = len(list(state.glob("*.submit"))) + 1
(state / f"{{cluster}}.submit").write_text(submit)
(state / f"{{cluster}}.argv").write_text(" ".join(sys.argv[1:-1]))
log = open(state / f"{{cluster}}.log", "w")
proc = subprocess.Popen([header["Executable"], *htcondor_args(header["Arguments"])],
                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
(state / f"{{cluster}}.pid").write_text(str(proc.pid))
print("Submitting job(s).")
print(f"1 job(s) submitted to cluster {{cluster}}.")
"""


@pytest.fixture
def condor_standin(tmp_path, monkeypatch):
    """condor_submit and condor_rm on PATH that run the job here (a local stand-in)."""
    bin_dir, state = tmp_path / "bin", tmp_path / "condor"
    bin_dir.mkdir()
    state.mkdir()
    for name in ("condor_submit", "condor_rm"):
        path = bin_dir / name
        path.write_text(CONDOR_STANDIN.format(python=sys.executable))
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HZX_CONDOR_STANDIN", str(state))
    yield state
    import signal

    for pid in state.glob("*.pid"):  # whatever is left (condor_rm normally did it)
        try:
            os.killpg(int(pid.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
def test_lxplus_worker_command_joins_and_runs_chunks(condor_standin, opendata_dir):
    """The CernCluster path of --executor lxplus, with condor_submit replaced by a local
    stand-in: the rendered worker command, started here, joins the scheduler and runs chunks."""
    import numpy as np

    from hzx.processors import AtlasOpenDataSchema, FourLeptonProcessor
    from hzx.runner import ExecutorOptions, RunOptions, run_processor

    fileset = {name: {"files": {str(opendata_dir / f"{name}.4lep.root"): "mini"},
                      "metadata": {"role": "data"}} for name in ("data_A", "data_B")}
    settings = clusters.LxplusSettings(
        scheduler_host="127.0.0.1", scheduler_port=0, dashboard_address="",
        container_runtime="none", x509_proxy="", eos_token="", send_credential=False,
        minimum_jobs=1, maximum_jobs=1, startup_timeout=120)

    def run(executor, client=None):
        return run_processor(FourLeptonProcessor(), fileset, treename="mini",
                             schema=AtlasOpenDataSchema,
                             executor=ExecutorOptions(executor=executor, progress=False),
                             run=RunOptions(chunksize=40), client=client)

    reference = run("iterative")
    with clusters.batch_client("lxplus", settings, wait_for_workers=1) as client:
        out = run("lxplus", client)
        workers = client.scheduler_info()["workers"]
    for dataset in fileset:
        for name in ("m4l", "lepton_pt"):
            assert np.array_equal(out[dataset][name].view(flow=True),
                                  reference[dataset][name].view(flow=True)), name
        assert out[dataset]["cutflow"] == reference[dataset]["cutflow"]
    assert out["_provenance"]["summary"]["batch_jobs"] == {"1.0": sum(
        out["_provenance"]["summary"]["batch_jobs"].values())}  # the stand-in's cluster 1
    assert [w["name"] for w in workers.values()] == ["CernCluster-0"]
    submitted = (condor_standin / "1.submit").read_text().splitlines()
    for directive in ('MY.JobFlavour = "longlunch"', "MY.IsDaskWorker = true",
                      'JobBatchName = "hzx-dask-worker"', "Executable = /bin/sh"):
        assert directive in submitted, directive
    assert (condor_standin / "1.argv").read_text() == "-spool"  # dask-lxplus's option
    arguments = next(line for line in submitted if line.startswith("Arguments"))
    assert "--worker-port 10000:10100" in arguments and "--name CernCluster-0" in arguments


def test_dask_jobqueue_config_is_honoured(config, monkeypatch):
    """The user's jobqueue.slurm / jobqueue.cern settings fill what hzx.toml and --set leave out
    (values equal to dask-jobqueue's shipped defaults are not the user's and are ignored)."""
    import dask

    monkeypatch.chdir(config.parent.parent)  # no ./hzx.toml
    with dask.config.set({"jobqueue.slurm.queue": "gpu", "jobqueue.slurm.cores": 3,
                          "jobqueue.slurm.job-extra-directives": ["--qos=long"],
                          "jobqueue.slurm.walltime": "00:30:00",  # the shipped default
                          "jobqueue.cern.memory": "4GB"}):
        assert clusters.jobqueue_config("slurm") == {"queue": "gpu", "cores": 3,
                                                     "job_extra_directives": ["--qos=long"]}
        plain = clusters.load_settings("slurm", None, {"cores": "2"})
        assert (plain.queue, plain.cores, plain.job_extra_directives, plain.walltime) == (
            "gpu", 2, ("--qos=long",), "01:00:00")  # --set wins; walltime: hzx's default
        from_file = clusters.load_settings("slurm", config)
        assert (from_file.queue, from_file.cores) == ("short", 8)  # hzx.toml wins
        assert clusters.load_settings("lxplus").memory == "4GB"
        assert "#SBATCH -p gpu" in clusters.job_script("slurm", plain).splitlines()
    with dask.config.set({"jobqueue.slurm.cores": "many"}):
        with pytest.raises(ConfigurationError, match=r"cores = 'many' in dask's jobqueue\.slurm"):
            clusters.load_settings("slurm")


def test_no_batch_system_is_one_clear_error(tmp_path, monkeypatch):
    """Without sbatch / condor_submit on PATH: an error before any cluster or job is made."""
    built: list = []
    monkeypatch.setattr(clusters, "_build_cluster", lambda *a: built.append(a))
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    with pytest.raises(clusters.BatchSystemError,
                       match=r"^sbatch not found: the slurm executor submits worker jobs and must "
                             r"run on a Slurm login node \(sbatch, sinfo\)$"):
        with clusters.batch_client("slurm", clusters.SlurmSettings(), wait_for_workers=1):
            pass
    with pytest.raises(clusters.BatchSystemError, match=r"^condor_submit not found: .*lxplus"):
        clusters.check_batch_system("lxplus", clusters.LxplusSettings())
    assert built == []  # no scheduler was started
