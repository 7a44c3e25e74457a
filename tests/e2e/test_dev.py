"""`autonomy dev` / `autonomy --rm` on a real Docker engine.

The fixture project (projects/devloop) has a cloned pod ``ticker`` that logs ``tick
<VERSION>`` every second and a pod ``steady``. The tests edit the ticker's main.py and
expect: the new behaviour in the streamed logs, the ticker's two instances recreated, the
steady pod untouched; and after Ctrl-C (SIGINT) or SIGTERM, exit code 0 and nothing of
the zone left: no container, network, volume or image. Zone names start with ``dv``.
"""

from __future__ import annotations

import signal

import pytest
from devtools import Dev, app_containers, copy_project, images_of, leftovers, run_cli

from clirun import LABEL

pytestmark = pytest.mark.e2e


def _cleanup(home, client, zone: str, dev: Dev | None) -> None:
    if dev is not None:
        dev.kill()
    r = run_cli(home, "zone", "delete", zone, "--images", "-y")
    assert r.returncode == 0, r.stdout + r.stderr
    assert leftovers(client, zone) == []
    assert images_of(client, zone) == []


def test_dev_redeploys_only_the_changed_pod_and_ctrl_c_removes_everything(cold_engine, autonomy_home, tmp_path):
    client, zone = cold_engine, "dvloop"
    project = copy_project("devloop", tmp_path, zone)
    dev = Dev(autonomy_home, project)
    try:
        dev.wait_for(r"^ticker/0/ticker \| .*tick one$")
        dev.wait_for(r"^ticker/1/ticker \| .*tick one$")
        dev.wait_for(r"^steady/0/steady \| .*steady is up$")
        assert f"zone {zone} deployed in" in dev.output
        steady = app_containers(client, zone, "steady")
        tickers = app_containers(client, zone, "ticker")
        assert set(tickers) == {"ticker-0", "ticker-1"} and set(steady) == {"steady"}
        for c in client.containers.list(filters={"label": f"{LABEL}zone={zone}"}):
            assert c.labels.get(f"{LABEL}dev", "").endswith(f":{dev.proc.pid}")

        mark = len(dev.lines)
        main = project / "images" / "ticker" / "main.py"
        main.write_text(main.read_text().replace('VERSION = "one"', 'VERSION = "two"'))
        i = dev.wait_for(r"images/ticker/main\.py changed", start=mark)
        assert dev.lines[i].endswith("rebuilding image ticker, recreating ticker-0, ticker-1"), dev.lines[i]
        dev.wait_for(r"^recreated ticker-0, ticker-1 in ", start=i)
        dev.wait_for(r"^ticker/0/ticker \| .*tick two$", start=i)
        dev.wait_for(r"^ticker/1/ticker \| .*tick two$", start=i)

        after = app_containers(client, zone, "ticker")
        assert set(after) == set(tickers) and all(after[k] != tickers[k] for k in tickers)
        assert app_containers(client, zone, "steady") == steady  # not recreated
        assert "redeploying the whole zone" not in dev.output

        assert dev.stop(signal.SIGINT) == 0, dev.output[-3000:]
        assert f"zone {zone} deleted:" in dev.output
        assert leftovers(client, zone) == []
        assert images_of(client, zone) == []
        assert not (autonomy_home / "zones" / zone).exists()
    finally:
        _cleanup(autonomy_home, client, zone, dev)


def test_rm_option_and_sigterm_delete_the_zone(cold_engine, autonomy_home, tmp_path):
    client, zone = cold_engine, "dvterm"
    project = copy_project("devloop", tmp_path, zone)
    dev = Dev(autonomy_home, project, ("--rm",))
    try:
        dev.wait_for(r"^ticker/1/ticker \| .*tick one$")
        # autonomy.yaml changes redeploy the whole zone
        manifest = project / "autonomy.yaml"
        mark = len(dev.lines)
        manifest.write_text(manifest.read_text().replace("clones: 2", "clones: 1"))
        dev.wait_for(r"^autonomy\.yaml changed: redeploying the whole zone$", start=mark)
        dev.wait_for(rf"^zone {zone} deployed in ", start=mark)
        assert set(app_containers(client, zone, "ticker")) == {"ticker"}
        assert dev.stop(signal.SIGTERM) == 0, dev.output[-3000:]
        assert f"zone {zone} deleted:" in dev.output
        assert leftovers(client, zone) == []
        assert images_of(client, zone) == []
    finally:
        _cleanup(autonomy_home, client, zone, dev)


def test_leftover_of_an_interrupted_dev_is_found_and_removed(cold_engine, autonomy_home, tmp_path):
    client, zone = cold_engine, "dvleft"
    project = copy_project("devloop", tmp_path, zone)
    first = Dev(autonomy_home, project)
    second = None
    try:
        first.wait_for(r"^steady/0/steady \| .*steady is up$")
        first.kill()  # SIGKILL: no cleanup, the zone stays
        left = app_containers(client, zone)
        assert len(left) == 3

        second = Dev(autonomy_home, project)
        i = second.wait_for(rf"found zone {zone} left by an interrupted `autonomy dev` \(pid {first.proc.pid}\)")
        # 3 app containers, their pods' 3 infra containers and the zone's model gateway
        second.wait_for(rf"^removed the leftover zone {zone}: 7 container\(s\), 1 network\(s\)", start=i)
        second.wait_for(r"^steady/0/steady \| .*steady is up$")
        assert not set(app_containers(client, zone).values()) & set(left.values())
        assert second.stop(signal.SIGINT) == 0, second.output[-3000:]
        assert leftovers(client, zone) == []
    finally:
        first.kill()
        _cleanup(autonomy_home, client, zone, second)
