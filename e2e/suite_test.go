//go:build e2e

package e2e

import (
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/types"
)

// TestEpks runs the features in order: the nodes first (everything else
// needs them initialized), the ones that break the release last.
func TestEpks(t *testing.T) {
	feats := []types.Feature{nodesFeature(), loadBalancerFeature(), volumesFeature()}
	// The features that break the release do not depend on how the
	// endpoints are named: they run in one IP-access mode only.
	if onTestbed && !ipAccess {
		feats = append(feats, brokenRBACFeature(), brokenCloudConfFeature(), noSecretsInLogsFeature())
	}
	testenv.Test(t, feats...)
}
