"""golden.plots: the paper's figures and the error plots as valid, reproducible SVG, on few inputs
(``--quick``, BF16 curves: a few seconds); the error of each input as golden.accuracy measures it."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from golden.accuracy import errors, measure
from golden.plots import FIGURE1_FILE, FIGURE2_FILE, derivative_of, main, paper_functions
from hw.spec.config import Config

SVG = "{http://www.w3.org/2000/svg}svg"
QUICK = ["--quick", "--curve-format", "bf16", "--formats", "bf16", "--functions", "isrlu,tanh-grad"]


def _texts(path):
    root = ET.parse(path).getroot()
    assert root.tag == SVG
    return " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))


def test_quick_figures_are_valid_svg(tmp_path, capsys):
    out = tmp_path / "figures"                      # made: its parent exists
    assert main(["--out", str(out), *QUICK]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([FIGURE1_FILE, FIGURE2_FILE, "error_ulps_bf16.svg"])
    figure1 = _texts(out / FIGURE1_FILE)
    assert "ISRLU (α = 3)" in figure1 and "ELU (α = 1)" in figure1 and "ReLU" in figure1
    assert "tanh(x)" in _texts(out / FIGURE2_FILE)
    errors_text = _texts(out / "error_ulps_bf16.svg")
    assert "isrlu_bf16_a1_pwl11_n0" in errors_text and "tanh_grad_bf16" in errors_text
    assert "0.5 ulp" in errors_text
    for path in out.iterdir():
        assert "<dc:date>" not in path.read_text()     # no date: regenerating changes nothing
    assert not list(out.glob(".*.tmp"))
    first = (out / FIGURE1_FILE).read_bytes()
    assert main(["--out", str(out), *QUICK, "--figures", "figure1"]) == 0
    assert (out / FIGURE1_FILE).read_bytes() == first


@pytest.mark.parametrize("args, message", [
    (["--functions", "isrlu,softplus"], "--functions takes names among"),
    (["--functions", "fma"], "--functions takes names among"),
    (["--formats", "fp32"], "float format of at most 16 bits"),
    (["--formats", "q4.12"], "float format of at most 16 bits"),
    (["--figures", "figure3"], "--figures takes names among"),
])
def test_bad_usage_is_one_line_exit_2(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        main(["--out", str(tmp_path), *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_output_folder_is_checked_first(tmp_path, capsys):
    file = tmp_path / "file"
    file.write_text("")
    for out in (file, tmp_path / "missing" / "deeper"):
        with pytest.raises(SystemExit) as exit_:
            main(["--out", str(out), *QUICK])
        assert exit_.value.code == 2


def test_paper_functions_come_from_the_registry():
    p = paper_functions()
    assert (p.isrlu, p.elu, p.relu, p.isru, p.tanh, p.isru_sigmoid, p.sigmoid) == (
        "isrlu", "elu", "relu", "isru", "tanh", "isru-sigmoid", "sigmoid")
    assert [derivative_of(n) for n in (p.isrlu, p.elu, p.isru, p.tanh, p.isru_sigmoid, p.sigmoid)] == [
        "isrlu-grad", "elu-grad", "isru-grad", "tanh-grad", "isru-sigmoid-grad", "sigmoid-grad"]
    assert derivative_of(p.relu) is None


@pytest.mark.parametrize("function", ["rsqrt", "isru-grad", "sigmoid", "elu"])
def test_errors_per_input_give_measures_statistics(function):
    """golden.accuracy.errors is what measure reduces: its largest error, mean and count of
    results not correctly rounded are measure's."""
    config = Config("bf16", function=function)
    x = np.arange(0, 1 << 16, 7, dtype=np.uint64)
    e = errors(config, x)
    r = measure(config, inputs=x, progress=False)
    assert len(e["ulp"]) == len(x)
    assert e["ulp"].max() == r["max_ulp"]
    assert e["ulp"][e["numeric"]].mean() == pytest.approx(r["mean_ulp"])
    assert int(e["wrong"].sum()) == r["not_correctly_rounded"]
    assert np.all(e["ulp"][~e["numeric"]] == np.where(e["wrong"][~e["numeric"]], np.inf, 0.0))
