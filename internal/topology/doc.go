// Package topology holds the test of the split deployment as separate OS
// processes of the built binary: PostgreSQL for the application store,
// `partneraccess temporal`, two workers and two servers, with emails going
// to a local fake of the SendGrid API.
package topology
