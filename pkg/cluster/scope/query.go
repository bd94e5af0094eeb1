package scope

import "net/url"

// Query is a Neutron list query whose filters may repeat: Neutron matches
// any of a repeated filter's values, so one request lists, say, the ports
// of three networks or the networks of three names, which gophercloud's
// ListOpts (one value per filter) cannot ask.
type Query url.Values

// Add adds values to a filter.
func (q Query) Add(key string, values ...string) Query {
	for _, v := range values {
		url.Values(q).Add(key, v)
	}
	return q
}

func (q Query) String() string {
	if len(q) == 0 {
		return ""
	}
	return "?" + url.Values(q).Encode()
}

// ToNetworkListQuery implements networks.ListOptsBuilder.
func (q Query) ToNetworkListQuery() (string, error) { return q.String(), nil }

// ToSubnetListQuery implements subnets.ListOptsBuilder.
func (q Query) ToSubnetListQuery() (string, error) { return q.String(), nil }

// ToRouterListQuery implements routers.ListOptsBuilder.
func (q Query) ToRouterListQuery() (string, error) { return q.String(), nil }

// ToPortListQuery implements ports.ListOptsBuilder.
func (q Query) ToPortListQuery() (string, error) { return q.String(), nil }

// ToFloatingIPListQuery implements floatingips.ListOptsBuilder.
func (q Query) ToFloatingIPListQuery() (string, error) { return q.String(), nil }
