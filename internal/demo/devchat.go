package demo

import (
	"context"
	"net/http"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/teams/teamstest"
)

// DevChat is the demo's Teams: Contoso opts in with its dev tenant, and
// the app is installed for each of Contoso's approvers through bot's own
// messages endpoint, as a tenant's Teams administrator would, so their
// requests come as cards at /dev/chat.
func DevChat(ctx context.Context, st *store.Store, stub *teamstest.Stub, bot http.Handler) (*teamstest.DevChat, error) {
	if err := st.SetChatWorkspace(ctx, Contoso, chat.ViaTeams, DevContosoTenant); err != nil {
		return nil, err
	}
	d := teamstest.NewDevChat(stub, DevContosoTenant, bot)
	approvers, err := st.Approvers(ctx, Contoso)
	if err != nil {
		return nil, err
	}
	for _, u := range approvers {
		if err := d.Install(teamstest.Member{ID: "29:" + u.ID, Name: u.Name, AADObjectID: "dev-" + u.ID, Email: u.Email,
			TenantID: DevContosoTenant}); err != nil {
			return nil, err
		}
	}
	return d, nil
}
