/*
 * stamp_ntp.c: stamp -P ntp.  The request is RFC 4330's, stamped as it
 * leaves; the reply is judged by ntp.c's ntp_check_reply (ours, a
 * server's, synchronized, no Kiss-o'-Death) and its four timestamps give
 * the offset and the delay.  It sends nothing but 48-byte requests, and
 * never believes a reply that does not echo one of them.  The request's
 * header and the judging of the reply serve stamp_nts.c (-P nts) too.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "ntp.h"
#include "stamp_client.h"
#include "stamp_ntp.h"
#include "stamp_query.h"

/*
 * RFC 4330's request: every field 0 but the mode, the version and the
 * transmit timestamp.  The server echoes that timestamp as the reply's
 * origin, which is how we know the reply is ours and when we sent what it
 * answers.
 */
int
stamp_ntp_header(struct stamp_query *q, unsigned char *buf, size_t len)
{
	struct ntp_packet	 p;

	memset(&p, 0, sizeof p);
	p.version = NTP_VERSION;
	p.mode = NTP_MODE_CLIENT;
	/* The last moment before the send, as a server reads its own. */
	clock_gettime(CLOCK_REALTIME, &q->sent);
	p.xmt = ntp_from_timespec(&q->sent);
	if (ntp_encode(&p, buf, len) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (q->nsent < STAMP_QUERY_TRIES)
		q->xmt[q->nsent++] = p.xmt;
	return 0;
}

/* The request hook of plain NTP: the header alone. */
static int
send_ntp(int fd, struct stamp_query *q)
{
	unsigned char	 buf[NTP_HEADER_LEN];

	if (stamp_ntp_header(q, buf, sizeof buf) == -1)
		return -1;
	return net_sendto(fd, buf, sizeof buf, NULL, 0) == -1 ? -1 : 0;
}

static const char *const leap_names[4] = {
	"none", "insert", "delete", "unsynchronized",
};

/*
 * Print what an NTP server told: its time (of its transmit timestamp), the
 * offset of its clock from ours and the round trip, its stratum and leap
 * indicator, and extra: NTS's word that it authenticated the reply.
 */
static void
show_ntp(const struct stamp_client_args *a, const struct ntp_packet *rep,
    long long t, double offset, double delay, const char *where,
    const char *extra)
{
	struct stamp_client_result	 r;

	memset(&r, 0, sizeof r);
	r.t = t;
	r.offset = offset;
	r.digits = 6;
	r.delay = delay;
	r.stratum = rep->stratum;
	r.leap = leap_names[rep->leap & 3];
	/* Only NTS has more to say: that it verified the reply. */
	r.authenticated = extra != NULL;
	r.note = extra;
	r.transport = "udp";
	stamp_client_show(a, &r, where);
}

/* What a Kiss-o'-Death code asks of a client (RFC 5905, figure 13). */
static const char *
kiss_meaning(const char *code)
{
	if (strcmp(code, "RATE") == 0)
		return "the server asks to be asked less often";
	if (strcmp(code, "DENY") == 0 || strcmp(code, "RSTR") == 0)
		return "the server denies us access";
	if (strcmp(code, "NTSN") == 0)
		return "the server did not accept our NTS cookie";
	return "the server refuses to answer";
}

int
stamp_ntp_judge(const struct stamp_client_args *a,
    const struct stamp_query *q, const char *where, const char *extra)
{
	struct ntp_packet	 rep;
	struct timespec		 ts;
	char			 id[16];
	const char		*why;
	enum ntp_check		 c;
	double			 offset, delay;

	if (q->len > STAMP_QUERY_LIMIT) {
		c = NTP_CHECK_MALFORMED;
		why = "reply too long";
	} else
		c = ntp_check_reply(q->reply, q->len, q->xmt, q->nsent, &rep,
		    &why);
	if (c == NTP_CHECK_MALFORMED)
		return stamp_client_error(a, where, 3,
		    "%s: malformed ntp reply: %s", where, why);
	ntp_refid_str(rep.refid, rep.stratum, id, sizeof id);
	if (a->verbose)
		fprintf(stderr, "stamp: %s: leap %d, version %d, mode %d, "
		    "stratum %d, poll %d, precision %d, refid %s, root delay "
		    "%.6fs, root dispersion %.6fs\n", where, rep.leap,
		    rep.version, rep.mode, rep.stratum, rep.poll,
		    rep.precision, id, ntp_short_to_sec(rep.root_delay),
		    ntp_short_to_sec(rep.root_disp));
	if (c == NTP_CHECK_KOD)
		return stamp_client_error(a, where, 1,
		    "%s: kiss-o'-death %s: %s", where, id, kiss_meaning(id));
	if (c == NTP_CHECK_UNSYNC && !a->unsynced)
		return stamp_client_error(a, where, 1,
		    "%s: server unsynchronized (leap %d, stratum %d): its "
		    "time is not to be trusted (--unsynced takes it)", where,
		    rep.leap, rep.stratum);
	/*
	 * t1 is the origin the server echoed: the transmit time of the
	 * request it answers, whichever try that was.
	 */
	ntp_offset_delay(rep.org, rep.rec, rep.xmt,
	    ntp_from_timespec(&q->got), &offset, &delay);
	ntp_to_timespec(rep.xmt, q->got.tv_sec, &ts);
	show_ntp(a, &rep, (long long)ts.tv_sec, offset, delay, where, extra);
	return 0;
}

int
stamp_ntp_ask(const struct stamp_client_args *a)
{
	static struct stamp_query q;
	char			 where[NET_ADDRSTRLEN];

	/* Each try's request is ours to build: t1, the transmit time. */
	q.request = send_ntp;
	stamp_client_reach(&q, a, where);
	return stamp_ntp_judge(a, &q, where, NULL);
}
