"""The ns-3 loader and the link helper."""

import pytest

from cppsns3.ns3 import cpp, ns
from cppsns3.ns3 import loader
from cppsns3.ns3.links import PortLinkHelper


def test_loading_twice_is_harmless():
    assert loader.load() is ns
    loader.load_sources()
    loader.load_sources()
    assert cpp.PoissonSource is loader.package_namespace().PoissonSource


def test_no_other_module_of_the_wheel_is_loaded():
    import sys

    assert "ns" not in sys.modules  # the stock `from ns import ns` was never run


def test_stock_udp_client_abi():
    """UdpClient's layout depends on NS3_LOG_ENABLE; a mismatch corrupts the heap."""
    nodes = ns.NodeContainer()
    nodes.Create(2)
    devices = PortLinkHelper(1e7, 1e-3, 10).install(nodes.Get(0), nodes.Get(1))
    ns.InternetStackHelper().Install(nodes)
    addr = ns.Ipv4AddressHelper()
    addr.SetBase(ns.Ipv4Address("10.9.0.0"), ns.Ipv4Mask("255.255.255.0"))
    ifaces = addr.Assign(devices)
    server = ns.UdpServerHelper(4000)
    sapps = server.Install(nodes.Get(1))
    client = ns.UdpClientHelper(ifaces.GetAddress(1).ConvertTo(), 4000)
    client.SetAttribute("MaxPackets", ns.UintegerValue(50))
    client.SetAttribute("Interval", ns.TimeValue(ns.MilliSeconds(1)))
    capps = client.Install(nodes.Get(0))
    capps.Start(ns.Seconds(0.1))
    ns.Simulator.Stop(ns.Seconds(1.0))
    ns.Simulator.Run()
    received = sapps.Get(0).GetObject[ns.UdpServer]().GetReceived()
    ns.Simulator.Destroy()
    assert received == 50


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        (dict(rate_bps=0, delay_s=0.0, capacity=5), "rate_bps"),
        (dict(rate_bps=float("inf"), delay_s=0.0, capacity=5), "rate_bps"),
        (dict(rate_bps=1e6, delay_s=-1.0, capacity=5), "delay_s"),
        (dict(rate_bps=1e6, delay_s=0.0, capacity=0), "capacity"),
        (dict(rate_bps=1e6, delay_s=0.0, capacity=2.5), "capacity"),
    ],
)
def test_link_helper_rejects_bad_values(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        PortLinkHelper(**kwargs)
    assert repr(list(kwargs.values())[[k for k in kwargs].index(fragment.split()[0])]) in str(info.value)
