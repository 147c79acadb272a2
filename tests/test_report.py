"""hw.report's choice of configurations and its cost table (the builds themselves run in the
report, not in the suite)."""
import pytest

from hw.report import format_pairs, main, report_configs


def test_configurations_of_the_chosen_functions():
    configs = report_configs(formats=("bf16",), names=("isrlu", "elu", "fma"))
    assert [(c.name, default) for c, default in configs] == [
        ("fma_bf16", True), ("isrlu_bf16_a1_pwl11_n0", True), ("elu_bf16_a1", True)]


def _row(unit, latency, lut4, dsp, default=True, fits=True, **more):
    return {"unit": unit, "format": "bf16", "default": default, "latency_cycles": latency,
            "latency_ns": latency * 40.0, "fmax_mhz": 30.0, "lut4": lut4, "ff": 100, "dsp": dsp,
            "bram": 2, "max_ulp": 0.5, "fits": fits, "meets_target": fits, **more}


def test_cost_table_pairs_each_function_with_its_rival():
    fast = _row("isrlu", 4, 300, 1, default=False, seed="magic", newton=1)
    table = format_pairs([_row("isrlu", 10, 900, 2), _row("elu", 8, 600, 0, fits=False), _row("relu", 1, 20, 0),
                          fast])
    lines = table.splitlines()
    assert len(lines) == 5
    assert lines[2].startswith("| bf16 | isrlu / elu (no fit) | 10 / 8 = 1.25 |")
    assert "900 / 600 = 1.50" in lines[2] and "2 / 0 = -" in lines[2]
    assert lines[3].startswith("| bf16 | isrlu (magic, 1 Newton) / elu (no fit) | 4 / 8 = 0.50 |")
    assert lines[4].startswith("| bf16 | relu (floor) | 1 | 40 |")
    assert format_pairs([_row("isrlu", 10, 900, 2)]) == ""          # no rival measured


def test_variants_beside_the_defaults(capsys):
    configs = report_configs(formats=("bf16",), names=("isrlu", "relu"), variants=(("magic", 0), ("magic", 1)))
    assert [(c.name, default) for c, default in configs] == [
        ("isrlu_bf16_a1_pwl11_n0", True), ("isrlu_bf16_a1_magic5f37_n0", False),
        ("isrlu_bf16_a1_magic5f37_n1", False), ("relu_bf16", True)]
    with pytest.raises(SystemExit):
        main(["--variants", "magic:9"])
    assert "--variants takes SEED:NEWTON items" in capsys.readouterr().err


def _svg_texts(svg):
    import xml.etree.ElementTree as ET
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_cost_plot_draws_every_unit():
    from hw.synth.plots import cost_order, cost_svg
    assert cost_order(["isrlu", "isru", "elu", "relu"]) == ["relu", "isrlu", "elu", "isru"]
    rows = [dict(_row("isrlu", 10, 900, 2), name="isrlu_bf16", clock_target_mhz=25.0),
            dict(_row("elu", 8, 600, 0, fits=False), name="elu_bf16", clock_target_mhz=25.0)]
    texts = _svg_texts(cost_svg(rows))
    assert texts.count("isrlu") == 2 and texts.count("elu") == 2      # LUT4 and latency panels
    assert "900" in texts and "10" in texts                          # ours: LUT4, cycles
    assert texts.count("no fit") == 2                                # the rival, in both panels
    assert "bf16: LUT4 at 25 MHz" in texts and "bf16: latency (cycles) at 25 MHz" in texts
    assert cost_svg([dict(rows[0], default=False)]) is None


def test_latency_plot_shows_designs_that_do_not_fit():
    """Every function has its legend entry, a design that does not fit is drawn (an x, named in
    the legend), and a plot of only such designs still draws; the SVG is reproducible."""
    from hw.synth.plots import latency_accuracy_svg
    rows = [dict(_row("isrlu", 10, 900, 2), clock_target_mhz=25.0),
            dict(_row("elu", 8, 600, 0, fits=False), clock_target_mhz=25.0),
            dict(_row("fma", 5, 700, 1), clock_target_mhz=25.0, format="fp16"),
            dict(_row("relu", 1, 20, 0), clock_target_mhz=25.0, max_ulp=0.0)]
    svg = latency_accuracy_svg(rows)
    texts = _svg_texts(svg)
    for name in ("isrlu", "elu", "fma", "relu", "bf16", "fp16", "does not fit", "misses the clock"):
        assert name in texts
    assert "<dc:date>" not in svg and svg == latency_accuracy_svg(rows)
    assert "elu" in _svg_texts(latency_accuracy_svg([rows[1]]))
    assert latency_accuracy_svg([]) is None


def test_parity_plot_compares_only_units_that_meet_the_clock():
    from hw.synth.plots import parity_svg
    rows = [dict(_clock_row("fma", 8, 30.0, clock=25.0), format="bf16"),
            dict(_clock_row("isrlu", 10, 30.0, clock=25.0), format="bf16"),
            dict(_clock_row("elu", 12, 30.0, fits=False, clock=25.0), format="bf16")]
    texts = _svg_texts(parity_svg(rows))
    assert " 1.25 (10/8)" in texts and "no comparison: elu no fit" in texts
    assert parity_svg(rows[1:]) is None                              # no FMA: nothing to compare


def test_plots_from_recorded_rows(tmp_path, capsys, monkeypatch):
    """--from-json re-plots the rows a report wrote, building nothing (no tools needed), and
    prints their tables; a bad file is a one-line usage error."""
    import json
    import hw.report as report
    monkeypatch.setattr(report.ice40, "tools_available", lambda: False)
    rows = [dict(_row(unit, 5, 100, 1, fits=unit != "elu"), clock_target_mhz=25.0, seed=None, newton=None,
                 pipeline=0, fmax_nextpnr_mhz=30.0, needs=None, netlist_ok=True, driver_conflicts=0,
                 name=f"{unit}_bf16") for unit in ("fma", "isrlu", "elu")]
    recorded = tmp_path / "rows.json"
    recorded.write_text(json.dumps(rows))
    plots = [tmp_path / name for name in ("latency.svg", "cost.svg", "parity.svg")]
    assert main(["--from-json", str(recorded), "--plot", str(plots[0]), "--cost-plot", str(plots[1]),
                 "--parity-plot", str(plots[2])]) == 0
    assert "| bf16 | isrlu / elu (no fit) |" in capsys.readouterr().out
    for path in plots:
        assert "isrlu" in _svg_texts(path.read_text())
    other = tmp_path / "fp16.json"                                   # several files: their rows together
    other.write_text(json.dumps([dict(r, format="fp16") for r in rows]))
    assert main(["--from-json", f"{recorded},{other}"]) == 0
    out = capsys.readouterr().out
    assert "| bf16 | isrlu / elu (no fit) |" in out and "| fp16 | isrlu / elu (no fit) |" in out
    recorded.write_text(json.dumps([{"unit": "isrlu"}]))
    with pytest.raises(SystemExit) as exit_:
        main(["--from-json", str(recorded), "--plot", str(plots[0])])
    assert exit_.value.code == 2 and "rows without" in capsys.readouterr().err
    recorded.write_text(json.dumps(rows))
    with pytest.raises(SystemExit):
        main(["--from-json", str(recorded), "--clock", "50"])
    assert "no rows at 50 MHz (the file has 25)" in capsys.readouterr().err


def test_unknown_function_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--functions", "isrlu,softplus"])
    assert "--functions takes names among" in capsys.readouterr().err


def _clock_row(unit, cycles, fmax, fits=True, clock=50.0):
    return {"unit": unit, "format": "fp32", "default": True, "latency_cycles": cycles,
            "latency_ns": round(cycles * 1000 / clock), "fmax_mhz": fmax, "fits": fits,
            "meets_target": fits and fmax >= clock, "clock_target_mhz": clock}


def test_headline_compares_only_units_that_meet_the_clock():
    """A ratio only where the unit and the FMA both fit and meet the target; else why not."""
    from hw.report import headline
    text = headline([_clock_row("fma", 9, 24.6), _clock_row("rsqrt", 15, 52.0), _clock_row("isrlu", 12, 50.5),
                     _clock_row("isru", 8, 51.0, fits=False)]).splitlines()
    assert text == [
        "fp32: rsqrt against the FMA at 50.0 MHz: no comparison (fma reaches 24.6 MHz with 9 cycles)",
        "fp32: isrlu against the FMA at 50.0 MHz: no comparison (fma reaches 24.6 MHz with 9 cycles)",
        "fp32: isru against the FMA at 50.0 MHz: no comparison (isru does not fit and fma reaches 24.6 MHz "
        "with 9 cycles)"]
    text = headline([_clock_row("fma", 9, 55.0), _clock_row("rsqrt", 12, 52.0)])
    assert text == "fp32: rsqrt latency / FMA latency = 12 / 9 = 1.33 at 50.0 MHz (240 / 180 ns)"


def test_a_build_meets_a_clock_when_most_placements_do():
    from hw.synth.search import meets
    assert meets({"fits": True, "fmax_seeds": [49.0, 51.0, 52.0]}, 50.0)
    assert not meets({"fits": True, "fmax_seeds": [49.0, 49.5, 52.0]}, 50.0)
    assert not meets({"fits": True, "fmax_seeds": [52.0, None, None]}, 50.0)
    assert meets({"fits": True, "fmax": 50.1}, 50.0)                    # one placement (old caches)
    assert not meets({"fits": True, "fmax_seeds": [50.5, 49.9]}, 50.0)  # two: both must
    assert not meets({"fits": False, "fmax_seeds": [None]}, 50.0)


def test_clock_lists(capsys, monkeypatch, tmp_path):
    """--clock 25,50 searches every unit at each clock: a table per clock, each unit's highest
    clock met, every row in the JSON; bad lists are refused."""
    import json
    import hw.report as report
    from hw.report import format_best, parse_clocks
    assert parse_clocks("25,50") == (25.0, 50.0)
    for bad in ("", "25,x", "0", "25,25", "-5", "nan"):
        with pytest.raises(ValueError, match="--clock"):
            parse_clocks(bad)
    fmax = {"fma": 30.0, "isrlu": 61.0}

    def fake_job(job):
        config, default, clock, seed, placements, source = job
        f = fmax[config.function]
        return dict(_clock_row(config.function, 8, f, clock=clock), format=config.format.name,
                    seed=None, newton=None, pipeline=0, fmax_nextpnr_mhz=f, lut4=1, ff=1, dsp=0, bram=0,
                    max_ulp=0.5, needs=None, driver_conflicts=0, netlist_ok=True, name=config.name,
                    builds=1, fmax_seeds_mhz=[f] * placements)
    monkeypatch.setattr(report, "_job", fake_job)
    monkeypatch.setattr(report.ice40, "tools_available", lambda: True)
    out = tmp_path / "rows.json"
    assert main(["--clock", "25,50", "--formats", "bf16", "--functions", "fma,isrlu", "--jobs", "1",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "## At 25 MHz" in text and "## At 50 MHz" in text
    assert "bf16: isrlu latency / FMA latency = 8 / 8 = 1.00 at 25.0 MHz" in text
    assert "isrlu against the FMA at 50.0 MHz: no comparison (fma reaches 30.0 MHz" in text
    rows = json.loads(out.read_text())
    assert sorted(r["clock_target_mhz"] for r in rows) == [25.0, 25.0, 50.0, 50.0]
    best = format_best(rows).splitlines()
    assert best[2] == "| bf16 | isrlu | 50 | 8 | 160 | 8, 320 at 25 MHz |"
    assert best[3].startswith("| bf16 | fma | 25 | 8 | 320 |")


def test_caveat_column_keeps_dsp_internal_paths_apart():
    """A build whose Fmax relies on a path between an SB_MAC16's own registers (no public figure)
    is starred, has no signed-off Fmax, and says why; estimated DSP arcs are counted."""
    from hw.report import format_table
    from hw.synth.timing import DSP_INTERNAL
    base = dict(_row("rsqrt", 10, 900, 3), seed="quad", newton=0, pipeline=10, fmax_nextpnr_mhz=80.0,
                netlist_ok=True, needs=None)
    internal = dict(base, dsp_internal_untimed=True, fmax_signed_off_mhz=None,
                    timing_caveats=[f"dsp_0: {DSP_INTERNAL}", "dsp_1: registered inputs, combinational output"])
    plain = dict(base, dsp_internal_untimed=False, fmax_signed_off_mhz=30.0, timing_caveats=[])
    lines = format_table([internal, plain]).splitlines()
    assert lines[0].endswith("| fits | caveat |")
    assert "| 30.0* (80.0) |" in lines[2]
    assert lines[2].endswith("| yes | * DSP-internal register path untimed; 1 DSP arc estimated |")
    assert "| 30.0 (80.0) |" in lines[3] and lines[3].endswith("| yes |  |")
