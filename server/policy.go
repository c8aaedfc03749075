package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/jsonin"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/service"
)

// policyBody is what PUT /api/v1/customers/{customer}/policy takes: the
// customer's policy and its sites' own, as written (SPEC §17).
type policyBody struct {
	Policy policy.Written            `json:"policy"`
	Sites  map[string]policy.Written `json:"sites"`
}

// customerPolicyView is GET and PUT /api/v1/customers/{customer}/policy.
type customerPolicyView struct {
	CustomerID string                    `json:"customer_id"`
	Policy     policy.Written            `json:"policy"`
	Sites      map[string]policy.Written `json:"sites"`
	InForce    map[string]policyView     `json:"in_force"`
}

// policyView is the policy in force at a site, every field decided.
type policyView struct {
	Approvals            int               `json:"approvals"`
	ApproverRoles        []string          `json:"approver_roles"`
	AccessDuration       string            `json:"access_duration"`
	MaxDuration          string            `json:"max_duration"`
	MaxExtensions        int               `json:"max_extensions"`
	ApprovalTimeout      string            `json:"approval_timeout"`
	MaxLead              string            `json:"max_lead"`
	ReasonPattern        string            `json:"reason_pattern,omitempty"`
	ReasonExample        string            `json:"reason_example,omitempty"`
	AutoApprove          []autoApproveView `json:"auto_approve"`
	ProfessionalApproval bool              `json:"professional_approval"`
	ChatDecisions        string            `json:"chat_decisions"`
	// Summary says it in words, as the assign form does.
	Summary string `json:"summary"`
}

type autoApproveView struct {
	Users       []string `json:"users"`
	Roles       []string `json:"roles"`
	MaxDuration string   `json:"max_duration,omitempty"`
}

func newPolicyView(e policy.Effective, summary string) policyView {
	v := policyView{Approvals: e.Approvals, ApproverRoles: e.ApproverRoles, AccessDuration: policy.Duration(e.AccessDuration),
		MaxDuration: policy.Duration(e.MaxDuration), MaxExtensions: e.MaxExtensions, ApprovalTimeout: policy.Duration(e.ApprovalTimeout),
		MaxLead: policy.Duration(e.MaxLead), ReasonPattern: e.ReasonPattern, ReasonExample: e.ReasonExample,
		ProfessionalApproval: e.ProfessionalApproval, ChatDecisions: e.ChatDecisions, Summary: summary}
	v.AutoApprove = mapViews(e.AutoApprove, func(r policy.AutoApprove) autoApproveView {
		a := autoApproveView{Users: nonNil(r.Users), Roles: nonNil(r.Roles)}
		if r.MaxDuration > 0 {
			a.MaxDuration = policy.Duration(r.MaxDuration)
		}
		return a
	})
	return v
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func newCustomerPolicyView(cp service.CustomerPolicy) customerPolicyView {
	v := customerPolicyView{CustomerID: cp.Customer.ID, Policy: cp.Policy, Sites: map[string]policy.Written{}, InForce: map[string]policyView{}}
	for _, sp := range cp.Sites {
		v.Sites[sp.Site.ID] = sp.Policy
		v.InForce[sp.Site.ID] = newPolicyView(sp.InForce, sp.Words)
	}
	return v
}

func (s *Server) apiPolicy(c *gin.Context) {
	u, _ := actor(c)
	cp, err := s.svc.Policy(c.Request.Context(), u, c.Param("customer"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newCustomerPolicyView(cp))
}

func (s *Server) apiSetPolicy(c *gin.Context) {
	u, _ := actor(c)
	var body policyBody
	if err := decodeJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	cp, err := s.svc.SetPolicy(c.Request.Context(), u, c.Param("customer"), body.Policy, body.Sites)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newCustomerPolicyView(cp))
}

// pagePolicy shows a customer's policy to its administrators: what is in
// force at each site, and the document to change.
func (s *Server) pagePolicy(c *gin.Context) {
	s.renderPolicy(c, http.StatusOK, gin.H{})
}

func (s *Server) renderPolicy(c *gin.Context, status int, data gin.H) {
	u, _ := actor(c)
	cp, err := s.svc.Policy(c.Request.Context(), u, c.Param("customer"))
	if err != nil {
		s.fail(c, err)
		return
	}
	data["Customer"], data["Sites"] = cp.Customer, cp.Sites
	if _, ok := data["Document"]; !ok {
		data["Document"] = policyDocument(cp)
	}
	s.render(c, status, "policy", data)
}

// policyDocument is the customer's policy as the page's form edits it:
// the API's body, indented.
func policyDocument(cp service.CustomerPolicy) string {
	v := newCustomerPolicyView(cp)
	sites := map[string]policy.Written{}
	for id, w := range v.Sites {
		if !w.IsZero() {
			sites[id] = w
		}
	}
	return indentJSON(policyBody{Policy: v.Policy, Sites: sites})
}

func (s *Server) pagePolicyPost(c *gin.Context) {
	u, _ := actor(c)
	doc := c.PostForm("policy")
	var body policyBody
	err := jsonin.DecodeStrict([]byte(doc), &body)
	if err == nil {
		_, err = s.svc.SetPolicy(c.Request.Context(), u, c.Param("customer"), body.Policy, body.Sites)
	}
	if p := problem.As(err); p != nil && (p.Kind == problem.KindUnprocessable || p.Kind == problem.KindInvalid) {
		s.renderPolicy(c, status(p), gin.H{"Error": p, "Document": doc})
		return
	} else if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/customers/"+url.PathEscape(c.Param("customer"))+"/policy?notice=saved")
}

func indentJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.Encode(v)
	return strings.TrimSpace(b.String())
}
