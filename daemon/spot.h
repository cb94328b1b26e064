/* daemon/spot.h: the spot interruption watcher (cluster.spot_notice_url):
 * polls the notice URL every 5 s, with the EC2 metadata service's token
 * flow (IMDSv2), and tells the main loop when a notice is given. */
#ifndef SHOAL_DAEMON_SPOT_H
#define SHOAL_DAEMON_SPOT_H

struct event_base;
struct shd_spot;

/* shd_spot_start: a watcher of URL on a thread of its own: NOTICE(ARG) runs
 * once on BASE's loop when the URL answers 200. 0 and *OUT, or -1 (logged:
 * a URL that does not parse, no thread). */
int shd_spot_start(const char *url, struct event_base *base, void (*notice)(void *arg), void *arg,
                   struct shd_spot **out);
/* Stops the thread (at once, even mid-wait) and frees it. NULL is a no-op. */
void shd_spot_stop(struct shd_spot *sp);

#endif
