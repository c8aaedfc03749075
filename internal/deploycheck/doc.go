// Package deploycheck holds the tests of the deployment files at the
// repository root (docker-compose.yml, Dockerfile); no Docker engine is needed.
package deploycheck
