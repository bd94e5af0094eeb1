"""Validates a HOT template offline with Heat's own code.

Usage: heat-validate.py CLOUD.json TEMPLATE [ENV...]
       heat-validate.py CLOUD.json TEMPLATE --cases CASES.json
(CASES.json: a list of lists of environments; prints a list of results.)

The template and environments are read as `openstack stack create -e ENV
--template TEMPLATE` reads them (heatclient's template_utils: get_file
resolved beside the template), parsed with heat.common.template_format and
validated as heat-engine validates a stack (heat.engine.stack.Stack.validate),
with the look-ups of images, flavors, key pairs and Neutron resources
answered from CLOUD.json ({"images": [...], "flavors": [...], "keypairs":
[...], "networks": [...], "neutron_extensions", "limits",
"nova_max_microversion"}) instead of a cloud. Prints a JSON document:
{"ok": true, "resources": {name: {"type", "properties", "depends_on"}},
"files": [...]} or {"ok": false, "error": "..."}.
"""
import json
import sys
import traceback
import types
import uuid

from oslo_config import cfg
from oslo_serialization import jsonutils

from heat.common import context
from heat.common import exception
from heat.common import template_format
from heat.engine.clients import client_plugin
from heat.engine.clients.os import glance
from heat.engine.clients.os import neutron
from heat.engine.clients.os import nova
from heat.engine import environment
from heat.engine import resources
from heat.engine import stack as heat_stack
from heat.engine import template
from heatclient.common import template_utils


def main():
    cloud_path, template_path, env_paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(cloud_path) as f:
        cloud = json.load(f)
    cfg.CONF([], project='heat', default_config_files=[])
    resources.initialise()
    stub(cloud)
    if env_paths[:1] == ['--cases']:
        # Several environments, one validation each, in one process.
        with open(env_paths[1]) as f:
            cases = json.load(f)
        print(json.dumps([validate(template_path, envs) for envs in cases], default=str))
        return
    print(json.dumps(validate(template_path, env_paths), default=str))


def validate(template_path, env_paths):
    # What `openstack stack create` sends: the template, its files, the
    # merged environments.
    files, tpl = template_utils.get_template_contents(template_file=template_path)
    env_files, env = template_utils.process_multiple_environments_and_files(env_paths=env_paths)
    files.update(env_files)
    # The request's body, as heatclient sends it (jsonutils turns the
    # files' bytes into text) and heat-api reads it.
    body = json.loads(jsonutils.dumps({'template': tpl, 'files': files, 'environment': env}))
    # heat-engine parses the template the client sent.
    parsed = template_format.parse(json.dumps(body['template']))
    tmpl = template.Template(parsed, files=body['files'], env=environment.Environment(body['environment']))
    ctx = context.RequestContext(project_id=str(uuid.uuid4()), user_id='epks', is_admin=False)
    st = heat_stack.Stack(ctx, 'k8scluster', tmpl)
    try:
        st.validate()
    except (exception.StackValidationFailed, exception.HeatException, ValueError) as e:
        traceback.print_exc()
        return {'ok': False, 'error': str(e)}
    out = {}
    for name, defn in tmpl.resource_definitions(st).items():
        out[name] = {'type': defn.resource_type,
                     'properties': resolve(st, defn._properties),
                     'depends_on': sorted(defn._depends or [])}
    return {'ok': True, 'resources': out, 'files': sorted(files)}


def resolve(st, props):
    """Resolves get_param and get_file; keeps references to resources
    as {"get_resource": name} / {"get_attr": [...]}."""
    from heat.engine import function
    from heat.engine.hot import functions as hot

    def walk(v):
        if isinstance(v, hot.GetResource):
            return {'get_resource': v.args}
        if isinstance(v, hot.GetAttThenSelect) or isinstance(v, hot.GetAtt):
            return {'get_attr': list(v.args) if isinstance(v.args, (list, tuple)) else v.args}
        if isinstance(v, hot.Replace):
            return {'str_replace': walk(v.args)}
        if isinstance(v, function.Function):
            return walk(function.resolve(v))
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        return v
    return walk(props)


def stub(cloud):
    """Answers Heat's look-ups (the custom constraints glance.image,
    nova.flavor, nova.keypair, neutron.*) from the cloud description: a
    name that is not there is not found, as in a cloud; the catalog
    has the services of a VIO project."""
    catalog = {'compute', 'network', 'image', 'volumev3', 'block-storage', 'load-balancer', 'identity'}

    def does_endpoint_exist(self, service_type, service_name):
        return service_type in catalog
    client_plugin.ClientPlugin.does_endpoint_exist = does_endpoint_exist
    # Neutron's extensions as viosim lists them.
    extensions = set(cloud['neutron_extensions'])
    neutron.NeutronClientPlugin._list_extensions = lambda self: extensions

    images = {i['name']: i for i in cloud['images']}
    flavors = {f['name']: f for f in cloud['flavors']}

    def finder(kind, found):
        def find(self, name_or_id):
            if name_or_id in found:
                return name_or_id
            raise exception.EntityNotFound(entity=kind, name=name_or_id)
        return find

    def getter(kind, found):
        def get(self, ident):
            if ident in found:
                return types.SimpleNamespace(**found[ident])
            raise exception.EntityNotFound(entity=kind, name=ident)
        return get

    glance.GlanceClientPlugin.find_image_by_name_or_id = finder('Image', images)
    glance.GlanceClientPlugin.get_image = getter('Image', images)
    nova.NovaClientPlugin.find_flavor_by_name_or_id = finder('Flavor', flavors)
    nova.NovaClientPlugin.get_flavor = getter('Flavor', flavors)

    # Nova's absolute limits (maxServerMeta...), as the cloud lists them.
    nova.NovaClientPlugin.absolute_limits = lambda self: dict(cloud['limits'])

    nova.NovaClientPlugin.get_max_microversion = lambda self: cloud['nova_max_microversion']

    def get_keypair(self, key_name):
        if key_name in cloud['keypairs']:
            return key_name
        raise exception.EntityNotFound(entity='Key', name=key_name)
    nova.NovaClientPlugin.get_keypair = get_keypair

    def find_resourceid(self, resource, name_or_id, cmd_resource=None):
        if resource == 'network' and name_or_id in cloud['networks']:
            return 'id-' + name_or_id
        raise exception.EntityNotFound(entity=resource, name=name_or_id)
    neutron.NeutronClientPlugin.find_resourceid_by_name_or_id = find_resourceid


if __name__ == '__main__':
    main()
