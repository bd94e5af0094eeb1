package sim_test

import (
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
)

func modelVolume(s *sim.Server) model.Volume {
	return model.Volume{Name: "v", Size: 1, ProjectID: s.Seeded.Project.ID}
}
