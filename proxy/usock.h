/*
 * proxy/usock.h — the UDP sockets of per-attempt upstream queries
 * ([upstream] udp-sockets = 0, the default).
 *
 * Every attempt gets a fresh random source port, but not a fresh socket:
 * socket(), epoll registration and close() cost more than the query itself.
 * The socket is never bound by hand, so the first sendto() binds it to a
 * random ephemeral port chosen by the kernel; when the attempt has ended
 * cleanly, connect(AF_UNSPEC) unbinds that port again (Linux unhashes a
 * socket whose port it chose itself), and the next attempt's sendto() gets
 * a new random one, exactly as a new socket would. The socket stays
 * registered with the event loop meanwhile.
 *
 * The socket is not connected (connect() would cost one more system call
 * per attempt): the reader checks each datagram's source, and IP_RECVERR
 * reports ICMP errors (port unreachable) as a connected socket would. An
 * attempt that ended any other way than by its answer (timeout, network
 * error, cancelled while waiting) closes its socket: something could still
 * be queued on it.
 */
#ifndef PROXY_USOCK_H
#define PROXY_USOCK_H

#include <ev.h>
#include <stdbool.h>
#include <sys/socket.h>

struct worker;
struct query;

struct usock {
	struct worker *w;
	struct query *qr;   /* the attempt waiting on it; NULL when spare */
	struct usock *next; /* spare list */
	int fd;
	int family;
	bool answered; /* the attempt read its answer: the socket is clean */
	void (*on_read)(struct usock *); /* readable, while qr is set */
	ev_io io;
};

/* Spare sockets kept per worker; beyond this they are closed. */
#define USOCK_SPARE_MAX 512

/*
 * A socket for qr with no port yet: the caller's first sendto() binds a
 * random one. It is watched for reading: on_read(s) runs when it is
 * readable. NULL with errno set on failure.
 */
struct usock *usock_open(struct worker *w, struct query *qr, int family,
                         void (*on_read)(struct usock *));
/* The attempt on s is over: keep s as a spare (answered) or close it. */
void usock_release(struct usock *s);
/* Close every spare socket of w (worker exit). */
void usock_free_all(struct worker *w);

#endif
