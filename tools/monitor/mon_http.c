/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-monitor Prometheus endpoint: libmicrohttpd on a socket we bind
 * ourselves (so a bad address or a port in use is reported with the
 * system's reason), GET /metrics answers a fresh sample of every target in
 * the text exposition format 0.0.4.
 */
#include "mon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool.h"

int mon_http_listen(const char *spec, char *where, size_t where_len)
{
	char addr[128] = "127.0.0.1", *end;
	const char *colon = strrchr(spec, ':'), *port_s = colon ? colon + 1 : spec;
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned long port;
	int fd, one = 1, v6 = 0;

	if (colon) {
		size_t n = (size_t)(colon - spec);

		if (n >= sizeof(addr))
			xs_tool_usage_error("--prometheus: address '%.*s' is too long", (int)n, spec);
		memcpy(addr, spec, n);
		addr[n] = '\0';
		if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
			memmove(addr, addr + 1, n - 2);
			addr[n - 2] = '\0';
		}
		if (!addr[0] || !strcmp(addr, "*"))
			snprintf(addr, sizeof(addr), "0.0.0.0");
		else if (!strcmp(addr, "localhost"))
			snprintf(addr, sizeof(addr), "127.0.0.1");
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!port_s[0] || *end || port_s[0] == '-' || port_s[0] == '+' || errno || port > 65535)
		xs_tool_usage_error("--prometheus: port '%s' is not a number in 0..65535 (0: any free port)",
				    port_s);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
		v6 = 1;
	} else {
		xs_tool_usage_error("--prometheus: '%s' is not an IPv4 or IPv6 address", addr);
	}
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		xs_tool_note("--prometheus %s: socket: %s", spec, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0) {
		int e = errno;

		close(fd);
		xs_tool_note("--prometheus %s: cannot listen on %s%s%s port %lu: %s%s", spec, v6 ? "[" : "",
			     addr, v6 ? "]" : "", port, strerror(e),
			     e == EADDRINUSE ? " (another program serves that port: choose another)" : "");
		return -1;
	}
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(where, where_len, "%s%s%s:%lu", v6 ? "[" : "", addr, v6 ? "]" : "", port);
	return fd;
}

#ifdef XS_HAVE_MHD
#include <microhttpd.h>

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

static mhd_result reply(struct MHD_Connection *c, unsigned code, const char *type, char *body,
			size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	mhd_result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static mhd_result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct mon *m = cls;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", (char *)"GET only\n", 9,
			     MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics") && strcmp(url, "/"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", (char *)"metrics are at /metrics\n", 24,
			     MHD_RESPMEM_PERSISTENT);
	f = open_memstream(&buf, &len);
	if (!f)
		return MHD_NO;
	pthread_mutex_lock(&mon_mu);
	mon_rescan(m);
	mon_sample_all(m);
	mon_render_prom(m, f);
	pthread_mutex_unlock(&mon_mu);
	if (fclose(f) != 0) {
		free(buf);
		return MHD_NO;
	}
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len,
		     MHD_RESPMEM_MUST_FREE);
}

void *mon_http_start(struct mon *m, int fd)
{
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, m, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
		MHD_OPTION_END);

	if (!d)
		xs_tool_note("--prometheus: libmicrohttpd could not start its server thread");
	return d;
}

void mon_http_stop(void *h)
{
	if (h)
		MHD_stop_daemon(h);
}
#else
void *mon_http_start(struct mon *m, int fd)
{
	(void)m;
	(void)fd;
	xs_tool_note("--prometheus: this xsched-monitor was built without libmicrohttpd "
		     "(install libmicrohttpd-dev and rebuild); --textfile or --format prometheus work");
	return NULL;
}

void mon_http_stop(void *h)
{
	(void)h;
}
#endif
