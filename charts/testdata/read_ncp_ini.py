#!/usr/bin/env python3
"""Reads an ncp.ini as NCP does, with the real oslo.config, and prints JSON.

The options are declared with the types NCP and nsxlib give them: the NSX
user, password, managers, CA files, IP blocks and pools are lists (ListOpt),
the rest strings or booleans. The output holds the typed values of every
declared option that the file sets, and the raw (section, key) pairs the
parser found, so that a test can see a value that changed the file's
structure.

Usage: read_ncp_ini.py NCP_INI
"""
import json
import sys

from oslo_config import cfg

OPTS = {
    "coe": [
        cfg.StrOpt("adaptor"), cfg.StrOpt("cluster"), cfg.StrOpt("node_type"),
        cfg.BoolOpt("enable_snat"),
    ],
    "ha": [cfg.BoolOpt("enable")],
    "k8s": [
        cfg.StrOpt("apiserver_host_ip"), cfg.IntOpt("apiserver_host_port"),
        cfg.StrOpt("client_token_file"), cfg.StrOpt("ca_file"),
    ],
    "nsx_v3": [
        cfg.ListOpt("nsx_api_managers"), cfg.BoolOpt("policy_nsxapi"),
        cfg.BoolOpt("insecure"), cfg.StrOpt("top_tier_router"),
        cfg.StrOpt("overlay_tz"), cfg.ListOpt("container_ip_blocks"),
        cfg.ListOpt("external_ip_pools"), cfg.ListOpt("nsx_api_user"),
        cfg.ListOpt("nsx_api_password", secret=True),
        cfg.StrOpt("nsx_api_cert_file"), cfg.StrOpt("nsx_api_private_key_file"),
        cfg.ListOpt("ca_file"),
    ],
    "nsx_node_agent": [
        cfg.StrOpt("ovs_bridge"), cfg.StrOpt("ovs_uplink_port"), cfg.IntOpt("mtu"),
    ],
    "nsx_kube_proxy": [cfg.StrOpt("config_handler")],
}


def main(path):
    raw = {}
    cfg.ConfigParser(path, raw).parse()
    conf = cfg.ConfigOpts()
    for group, opts in OPTS.items():
        conf.register_opts(opts, group=group)
    conf(args=[], project="nsx", default_config_files=[path], default_config_dirs=[])
    values = {}
    for section, keys in raw.items():
        for key in keys:
            declared = {o.dest for o in OPTS.get(section, [])}
            if key in declared:
                values["%s.%s" % (section, key)] = getattr(getattr(conf, section), key)
    pairs = sorted("%s.%s" % (s, k) for s, keys in raw.items() for k in keys)
    json.dump({"keys": pairs, "values": values}, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
