package server

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
)

func (s *Server) pageSites(c *gin.Context) {
	u, _ := actor(c)
	sites, err := s.svc.Sites(c.Request.Context(), u)
	if err != nil {
		s.fail(c, err)
		return
	}
	data := gin.H{"Sites": sites}
	if u.Kind == store.KindCustomer {
		v, err := s.svc.Customer(c.Request.Context(), u)
		if err != nil {
			s.fail(c, err)
			return
		}
		data["Customer"], data["Partner"], data["Permitted"] = v.Customer, v.Partner, v.Permitted
		data["CanSetPermission"], data["HaveAccess"] = v.CanSetPermission, v.HaveAccess
		if p, err := s.svc.Permission(c.Request.Context(), v.Customer); err == nil && v.Permitted {
			data["Until"] = p.GrantedUntil // nil: until withdrawn
		}
	}
	s.render(c, http.StatusOK, "sites", data)
}

func (s *Server) pageSite(c *gin.Context) {
	s.renderSite(c, http.StatusOK, gin.H{})
}

func (s *Server) renderSite(c *gin.Context, status int, data gin.H) {
	u, _ := actor(c)
	d, err := s.svc.Site(c.Request.Context(), u, c.Param("site"))
	if err != nil {
		s.fail(c, err)
		return
	}
	data["Site"], data["Assignable"], data["Assignments"] = d.Site, d.Assignable, d.Assignments
	if d.NoPermission != nil { // R1: say so instead of offering a form that can only be refused
		data["NoPermission"] = d.NoPermission
	}
	data["CanAssign"] = u.Kind == store.KindPartner && d.Site.Permitted
	data["Policy"], data["PolicyWords"] = d.Policy, d.PolicyWords
	s.render(c, status, "site", data)
}

func (s *Server) pageAssignPost(c *gin.Context) {
	u, _ := actor(c)
	req := rules.AssignRequest{SiteID: c.Param("site"), UserID: c.PostForm("user_id"), Role: c.PostForm("role"), Reason: c.PostForm("reason"),
		Duration: c.PostForm("duration"), StartsAt: c.PostForm("starts_at")}
	a, created, err := s.svc.Assign(c.Request.Context(), u, req)
	if p := problem.As(err); p != nil && p.Kind != problem.KindNotFound {
		s.renderSite(c, status(p), gin.H{"Error": p, "Form": req})
		return
	} else if err != nil {
		s.fail(c, err)
		return
	}
	notice := "created"
	if !created {
		notice = "existing"
	}
	c.Redirect(http.StatusSeeOther, "/assignments/"+url.PathEscape(a.ID)+"?notice="+notice)
}

func (s *Server) pagePermissionPost(c *gin.Context) {
	u, _ := actor(c)
	if _, err := s.svc.SetPermission(c.Request.Context(), u, c.Param("customer"), c.PostForm("granted") == "yes"); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/sites")
}
