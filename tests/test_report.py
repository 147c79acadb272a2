"""hw.report's choice of configurations and its cost table (the builds themselves run in the
report, not in the suite)."""
import pytest

from hw.report import format_pairs, main, report_configs


def test_configurations_of_the_chosen_functions():
    configs = report_configs(formats=("bf16",), names=("isrlu", "elu", "fma"))
    assert [(c.name, default) for c, default in configs] == [
        ("fma_bf16", True), ("isrlu_bf16_a1_pwl11_n0", True), ("elu_bf16_a1", True)]


def _row(unit, latency, lut4, dsp):
    return {"unit": unit, "format": "bf16", "default": True, "latency_cycles": latency,
            "latency_ns": latency * 40.0, "fmax_mhz": 30.0, "lut4": lut4, "ff": 100, "dsp": dsp,
            "bram": 2, "max_ulp": 0.5}


def test_cost_table_pairs_each_function_with_its_rival():
    table = format_pairs([_row("isrlu", 10, 900, 2), _row("elu", 8, 600, 0), _row("relu", 1, 20, 0)])
    lines = table.splitlines()
    assert len(lines) == 3 and lines[2].startswith("| bf16 | isrlu / elu | 10 / 8 = 1.25 |")
    assert "900 / 600 = 1.50" in lines[2] and "2 / 0 = -" in lines[2]
    assert format_pairs([_row("isrlu", 10, 900, 2)]) == ""          # no rival measured


def test_unknown_function_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--functions", "isrlu,softplus"])
    assert "--functions takes names among" in capsys.readouterr().err
