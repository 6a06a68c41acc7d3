/* reload.h - `serve`'s signals: SIGHUP reloads what can change while
 * serving, SIGTERM and SIGINT stop it, and once an hour the certificate's
 * expiry is looked at.
 *
 * Called by server/main.c (cmd_serve). Signals are blocked in every
 * thread (tb_reload_block, before the workers start) and taken by
 * sigtimedwait on the main thread, so no work runs in a signal handler.
 *
 * What SIGHUP reloads: the command line and --config FILE are read
 * again (tb_reload_args keeps the words), then
 *   cert, key, key_permissions  the pair is loaded and checked as at start
 *                               (server/tlscert.h); a bad one is logged
 *                               and the running pair kept
 *   log_level, retry_after, drain_timeout, min_free_mb
 *                               take effect at once
 * and every other setting (listen, db, workers, connection limits,
 * timeout, uploads, busy_timeout_ms, synchronous, plans_dir, ontime_days)
 * is compared and, if it differs, named in a warning: it takes effect
 * only at a restart. One line says what changed. A config file that no
 * longer parses changes nothing (logged). Nothing on a reload stops the
 * server.
 */
#ifndef TB_SERVER_RELOAD_H
#define TB_SERVER_RELOAD_H

#include <signal.h>
#include <stddef.h>

struct tb_config;
struct tb_https;
struct tb_tlscert;

/* The words after the command name, to parse again on SIGHUP (borrowed:
 * main's argv). */
void tb_reload_args(int argc, char **argv);
/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in the
 * threads it starts) into *set, and ignores SIGPIPE. */
void tb_reload_block(sigset_t *set);
/* The certificate and key of cfg, checked (tlscert.h), into a new *out;
 * logs a warning when the certificate ends within 30 days. 0, or
 * TB_ECONFIG / TB_ENOMEM with msg; *out NULL on failure. */
int tb_reload_certs(const struct tb_config *cfg, struct tb_tlscert **out,
		    char *msg, size_t msglen);
/* Waits for SIGTERM or SIGINT, reloading on every SIGHUP (see top);
 * *drain gets the drain_timeout in force. Returns the stop signal. cfg
 * is the configuration the server started with (borrowed). */
int tb_reload_wait(const sigset_t *set, struct tb_https *h,
		   struct tb_tlscert *certs, const struct tb_config *cfg,
		   long *drain);

#endif
