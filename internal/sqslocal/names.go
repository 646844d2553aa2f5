package sqslocal

import (
	"net/http"
	"strings"
)

// Queue names, URLs and ARNs. A queue URL is <base>/<account>/<name>; queues
// are looked up by the path alone, so a URL works under any host name (the
// SDK may be pointed at localhost, 127.0.0.1 or a container name).

const maxQueueNameLen = 80

// validQueueName reports whether name follows the SQS rules: 1 to 80
// alphanumerics, hyphens and underscores, where a FIFO queue's name ends in
// ".fifo" (counted in the 80).
func validQueueName(name string) bool {
	if len(name) == 0 || len(name) > maxQueueNameLen {
		return false
	}
	base := strings.TrimSuffix(name, ".fifo")
	if base == "" {
		return false
	}
	for i := 0; i < len(base); i++ {
		if !isIDChar(base[i]) {
			return false
		}
	}
	return true
}

// isIDChar reports whether c is allowed in queue names and batch entry ids.
func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// baseURL is the scheme and host queue URLs are built on: the configured
// BaseURL, else the Host the request was sent to.
func (s *Server) baseURL(r *http.Request) string {
	if s.base != "" {
		return s.base
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return scheme + host
}

func (s *Server) queueURL(base, name string) string {
	return base + "/" + s.account + "/" + name
}

func (s *Server) queueARN(name string) string {
	return "arn:aws:sqs:" + s.region + ":" + s.account + ":" + name
}

// queueNameFromURL returns the queue name a QueueUrl designates. Scheme and
// host are ignored; the path must be /<account>/<name>.
func (s *Server) queueNameFromURL(u string) (string, *apiError) {
	if u == "" {
		return "", errMissingParameter("QueueUrl")
	}
	path := u
	if i := strings.Index(path, "://"); i >= 0 {
		rest := path[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return "", kindInvalidAddress.new("The address %s is not valid for this endpoint.", u)
		}
		path = rest[j:]
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimPrefix(path, "/")
	account, name, ok := strings.Cut(path, "/")
	if !ok || account == "" || name == "" || strings.Contains(name, "/") {
		return "", kindInvalidAddress.new("The address %s is not valid for this endpoint.", u)
	}
	if account != s.account {
		return "", errQueueDoesNotExist()
	}
	return name, nil
}

// queueNameFromARN returns the queue name of an SQS ARN in this server's
// region and account.
func (s *Server) queueNameFromARN(arn string) (string, bool) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" {
		return "", false
	}
	if parts[3] != s.region || parts[4] != s.account || !validQueueName(parts[5]) {
		return "", false
	}
	return parts[5], true
}
