"""The synthesis and timing flow: Yosys and nextpnr from the YoWASP packages, utilization, the
SDF re-timing with the SB_MAC16 delays, and the report's pipeline search."""
