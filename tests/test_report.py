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


def test_cost_plot_draws_every_unit(tmp_path):
    from hw.synth.plots import cost_order, cost_svg
    assert cost_order(["isrlu", "isru", "elu", "relu"]) == ["relu", "isrlu", "elu", "isru"]
    rows = [dict(_row("isrlu", 10, 900, 2), name="isrlu_bf16", clock_target_mhz=25.0),
            dict(_row("elu", 8, 600, 0, fits=False), name="elu_bf16", clock_target_mhz=25.0)]
    cost_svg(rows, tmp_path / "cost.svg")
    svg = (tmp_path / "cost.svg").read_text()
    assert svg.count("<rect x=") == 2 and 'fill="none"' in svg and "0/2/8 no fit" in svg


def test_unknown_function_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--functions", "isrlu,softplus"])
    assert "--functions takes names among" in capsys.readouterr().err
