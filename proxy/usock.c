/*
 * proxy/usock.c — per-attempt upstream UDP sockets, reused with a fresh
 * port (see usock.h).
 */
#include "proxy/usock.h"

#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "proxy/worker.h"

static struct usock **
spare_list(struct worker *w, int family)
{
	return &w->usock_spare[family == AF_INET6];
}

static void
usock_close(struct usock *s)
{
	ev_io_stop(s->w->loop, &s->io);
	close(s->fd);
	free(s);
}

static void
read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct usock *s = io->data;
	char junk[1];

	(void)loop;
	(void)revents;
	if (s->qr != NULL) {
		s->on_read(s);
		return;
	}
	/* A spare: only a datagram queued before the disconnect can be
	 * here (a duplicate answer). Nobody wants it. */
	for (int i = 0; i < 64; i++)
		if (recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT) < 0 &&
		    errno != EINTR)
			return;
	/* Still readable after that many: not worth keeping. */
	for (struct usock **pp = spare_list(s->w, s->family); *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			s->w->usock_nspare--;
			break;
		}
	}
	usock_close(s);
}

struct usock *
usock_open(struct worker *w, struct query *qr, int family,
           void (*on_read)(struct usock *))
{
	struct usock **spare = spare_list(w, family);
	struct usock *s = *spare;
	int on = 1;

	if (s != NULL) {
		*spare = s->next;
		w->usock_nspare--;
	} else {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return NULL;
		s->fd =
		    socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		/* ICMP errors (port unreachable) fail the attempt at once,
		 * as on a connected socket. */
		if (s->fd < 0 ||
		    setsockopt(s->fd, family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		               family == AF_INET6 ? IPV6_RECVERR : IP_RECVERR, &on,
		               sizeof(on)) < 0) {
			int err = errno;

			if (s->fd >= 0)
				close(s->fd);
			free(s);
			errno = err;
			return NULL;
		}
		s->w = w;
		s->family = family;
		ev_io_init(&s->io, read_cb, s->fd, EV_READ);
		s->io.data = s;
		ev_io_start(w->loop, &s->io);
	}
	s->qr = qr;
	s->on_read = on_read;
	s->answered = false;
	s->next = NULL;
	return s;
}

void
usock_release(struct usock *s)
{
	struct worker *w = s->w;
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	struct usock **spare = spare_list(w, s->family);

	s->qr = NULL;
	/* Disconnecting unbinds the kernel-chosen port: nothing more can
	 * arrive, and the next connect() picks a new one. */
	if (!s->answered || w->usock_nspare >= USOCK_SPARE_MAX ||
	    w->stopping || connect(s->fd, &unspec, sizeof(unspec)) < 0) {
		usock_close(s);
		return;
	}
	s->next = *spare;
	*spare = s;
	w->usock_nspare++;
}

void
usock_free_all(struct worker *w)
{
	for (int f = 0; f < 2; f++) {
		while (w->usock_spare[f] != NULL) {
			struct usock *s = w->usock_spare[f];

			w->usock_spare[f] = s->next;
			usock_close(s);
		}
	}
	w->usock_nspare = 0;
}
