/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sealed memory: a peer that receives the session's descriptors cannot
 * resize them. A raw client (this process) logs on to an xsched server (a
 * child), receives the 3 + 2W descriptors, and for each one: the seals are
 * grow + shrink + seal; ftruncate() to shrink or to grow fails with EPERM;
 * no seal can be added (F_SEAL_WRITE would make the other side's writes
 * fail): EPERM; the size is unchanged and the memory is still writable.
 * Then: a real client asked to refuse unsealed objects accepts this server
 * and reports every object sealed, and refuses a server that does not seal.
 */
#include "peer_util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xsched/shm.h"

#define W 2

struct srv_ctx {
	const char *path;
	int ch;
	int no_seal;
};

static void server_child(void *arg)
{
	struct srv_ctx *c = arg;
	struct xs_hs_server_opts o = {.path = c->path, .replace_stale = 1,
				      .no_seal = (uint8_t)c->no_seal};
	struct xs_hs_server *srv = NULL;
	struct xs_vsession *vs = NULL;
	int rc;

	T_OK(xs_hs_server_listen(&o, &srv));
	pu_send(c->ch, 1);
	rc = xs_hs_server_serve(srv, t_now_ns() + (uint64_t)PU_WAIT_MS * 1000000ull, &vs);
	T_OK(rc);
	T_EQ(vs->num_sealed, c->no_seal ? 0 : vs->num_objects);
	/* keep the objects mapped until the peer has tried its worst */
	pu_expect(c->ch, 2);
	xs_vsession_close(vs);
	xs_hs_server_close(srv);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = PU_WAIT_MS / 1000};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	T_ASSERT(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	T_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	T_OK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	return fd;
}

static void peer_tries_to_resize(void)
{
	struct srv_ctx c = {.path = pu_sock_path("seal")};
	struct xs_logon lg = pu_logon(W);
	static struct xs_hs_reply r;
	uint8_t logon[XS_HS_LOGON_BUF], data[16];
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(int) * (3 + 2 * W))];
	} ctl;
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	int ch[2], fd, fds = t_fd_count();
	ssize_t n;
	pid_t pid;

	pu_chan(ch);
	c.ch = ch[1];
	pid = pu_fork(server_child, &c);
	close(ch[1]);
	pu_expect(ch[0], 1);

	fd = raw_connect(c.path);
	T_EQ(xs_hs_encode_logon(2, &lg, logon), XS_HS_LOGON_BUF);
	T_EQ(send(fd, logon, sizeof(logon), MSG_NOSIGNAL), (ssize_t)sizeof(logon));
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	T_ASSERT(n > 0, "recvmsg: %s", strerror(errno));
	T_OK(xs_hs_parse_reply(data, (size_t)n, mh.msg_flags, ctl.buf, mh.msg_controllen,
			       3 + 2 * W, &r));
	close(fd);

	for (uint32_t i = 0; i < r.nfds; i++) {
		int d = r.fds[i], seals = fcntl(d, F_GET_SEALS);
		struct stat st, st2;
		uint8_t *p;

		T_OK(fstat(d, &st));
		T_ASSERT(seals >= 0, "F_GET_SEALS of descriptor %u: %s", i, strerror(errno));
		T_EQ(seals & (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
		     F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
		T_EQ(xs_shm_inspect(d) & XS_SHM_STATE_SEALED, XS_SHM_STATE_SEALED);

		errno = 0;
		T_ASSERT(ftruncate(d, 0) < 0 && errno == EPERM, "shrink of %u: errno %d", i, errno);
		errno = 0;
		T_ASSERT(ftruncate(d, st.st_size / 2) < 0 && errno == EPERM, "shrink/2 of %u", i);
		errno = 0;
		T_ASSERT(ftruncate(d, st.st_size + 4096) < 0 && errno == EPERM, "grow of %u", i);
		errno = 0;
		T_ASSERT(fallocate(d, 0, st.st_size, 4096) < 0 && errno == EPERM, "fallocate of %u", i);
		errno = 0;
		T_ASSERT(fcntl(d, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM,
			 "adding F_SEAL_WRITE to %u: errno %d", i, errno);
		T_OK(fstat(d, &st2));
		T_EQ(st2.st_size, st.st_size);
		/* sealing forbids resizing, not sharing: the memory stays writable */
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0);
		T_ASSERT(p != MAP_FAILED);
		p[4095] = p[4095];
		munmap(p, 4096);
		close(d);
	}
	T_EQ(r.nfds, 3 + 2 * W);
	pu_send(ch[0], 2);
	pu_wait_ok(pid);
	close(ch[0]);
	T_EQ(t_fd_count(), fds);
}

/* A real client that requires sealed objects. */
static void client_requires_seals(int no_seal)
{
	struct srv_ctx c = {.path = pu_sock_path(no_seal ? "noseal" : "sealed"), .no_seal = no_seal};
	struct xs_logon lg = pu_logon(W);
	struct xs_hs_client_opts o = {.path = c.path, .timeout_ns = 5000000000ull,
				      .require_sealed = 1};
	struct xs_session *s = NULL;
	int ch[2], rc, fds;
	pid_t pid;

	pu_chan(ch);
	c.ch = ch[1];
	pid = pu_fork(server_child, &c);
	close(ch[1]);
	pu_expect(ch[0], 1);
	fds = t_fd_count();
	rc = xs_hs_connect(&o, &lg, &s);
	if (no_seal) {
		T_ERR(rc, -XS_ESHM_UNSEALED);
		T_ASSERT(s == NULL);
		/* the server made its session; let it go (it saw the client leave) */
		pu_send(ch[0], 2);
		pu_reap(pid);
	} else {
		T_OK(rc);
		T_EQ(s->num_sealed, s->num_objects);
		for (uint32_t i = 0; i < s->num_objects; i++)
			T_ASSERT(s->object_state[i] & XS_SHM_STATE_SEALED, "object %u not sealed", i);
		xs_session_close(s);
		pu_send(ch[0], 2);
		pu_wait_ok(pid);
	}
	T_EQ(t_fd_count(), fds);
	close(ch[0]);
}

int main(void)
{
	peer_tries_to_resize();
	client_requires_seals(0);
	client_requires_seals(1);
	printf("test_seal: ok\n");
	return 0;
}
