/* reload.c - SIGHUP, SIGTERM and the certificate's expiry while serving
 * (see reload.h).
 *
 * A reload parses the saved words again into a new configuration and
 * compares it, setting by setting, with the one in force: the live
 * settings are applied (each only if its new value passes the settings
 * table's check), the others are named as needing a restart. The
 * configuration in force is the start's until the first reload, then the
 * last reload's (owned here, freed on the next reload and at the end).
 */
#include "server/reload.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "common/err.h"
#include "server/https.h"
#include "server/log.h"
#include "server/settings.h"
#include "server/tlscert.h"

#define EXPIRY_WARN_DAYS 30
#define CHECK_EVERY_S 3600

static int saved_argc;
static char **saved_argv;

/* Settings read once at start: a change is logged, not applied. */
static const char *const restart_keys[] = {
	"listen", "db", "workers", "max_connections", "per_ip_connections",
	"timeout", "max_uploads", "device_uploads", "upload_timeout",
	"busy_timeout_ms", "synchronous", "plans_dir", "ontime_days",
};
#define NRESTART (sizeof(restart_keys) / sizeof(restart_keys[0]))

void tb_reload_args(int argc, char **argv)
{
	saved_argc = argc;
	saved_argv = argv;
}

void tb_reload_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void expiry_warn(int64_t not_after)
{
	char when[32];
	int64_t left = not_after - (int64_t)time(NULL);

	if (not_after && left < (int64_t)EXPIRY_WARN_DAYS * 86400)
		tb_slog(TB_SLOG_WARN, "the certificate expires on %s, in %lld "
			"days: renew it, then `systemctl reload tienbo-server` "
			"(SIGHUP) takes the new one without a restart",
			tb_tlscert_time(not_after, when),
			(long long)(left / 86400));
}

static int load(struct tb_tlscert *t, const struct tb_config *cfg,
		struct tb_tlscert_info *info, char *msg, size_t msglen)
{
	const char *perm = tb_settings_get(cfg, "key_permissions");

	return tb_tlscert_load(t, tb_settings_get(cfg, "cert"),
			       tb_settings_get(cfg, "key"),
			       perm && strcmp(perm, "allow") == 0, info, msg,
			       msglen);
}

int tb_reload_certs(const struct tb_config *cfg, struct tb_tlscert **out,
		    char *msg, size_t msglen)
{
	struct tb_tlscert_info info;
	int rc;

	memset(&info, 0, sizeof(info));
	rc = tb_tlscert_create(out);
	if (rc == TB_OK)
		rc = load(*out, cfg, &info, msg, msglen);
	if (rc < 0) {
		tb_tlscert_destroy(*out);
		*out = NULL;
		return rc;
	}
	expiry_warn(info.not_after);
	return TB_OK;
}

static enum tb_slog_level level_of(const char *s)
{
	return strcmp(s, "debug") == 0   ? TB_SLOG_DEBUG
	       : strcmp(s, "warn") == 0  ? TB_SLOG_WARN
	       : strcmp(s, "error") == 0 ? TB_SLOG_ERROR
					 : TB_SLOG_INFO;
}

static int same(const struct tb_config *a, const struct tb_config *b,
		const char *key)
{
	const char *x = tb_settings_get(a, key), *y = tb_settings_get(b, key);

	return x == y || (x && y && strcmp(x, y) == 0);
}

/* Appends ", what" to the list in buf. */
static void note(char *buf, size_t len, const char *what)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", what);
}

/* The live integer settings: applied when changed and valid. */
static void live_ints(const struct tb_config *old, const struct tb_config *cfg,
		      struct tb_https *h, long *drain, char *changed,
		      size_t len)
{
	static const char *const keys[] = { "retry_after", "drain_timeout",
					    "min_free_mb" };
	long v[3] = { 5, 30, 100 };
	char msg[256], what[96];
	size_t i;

	for (i = 0; i < 3; i++) {
		if (tb_settings_long(cfg, keys[i], &v[i], msg, sizeof(msg)) < 0) {
			tb_slog(TB_SLOG_WARN, "reload: %s; keeping %s = %s", msg,
				keys[i], tb_settings_get(old, keys[i]));
			tb_settings_long(old, keys[i], &v[i], msg, sizeof(msg));
		} else if (!same(old, cfg, keys[i])) {
			snprintf(what, sizeof(what), "%s %s -> %s", keys[i],
				 tb_settings_get(old, keys[i]),
				 tb_settings_get(cfg, keys[i]));
			note(changed, len, what);
		}
	}
	tb_https_set_live(h, v[0], v[2]);
	*drain = v[1];
}

/* One reload; *cur is the configuration in force, replaced by the new one
 * when it parses (*owned says whether *cur is ours to free). */
static void reload(struct tb_https *h, struct tb_tlscert *certs,
		   const struct tb_config **cur, struct tb_config **owned,
		   long *drain)
{
	struct tb_config *cfg = NULL;
	struct tb_tlscert_info info;
	char msg[512], changed[768] = "", restart[256] = "", when[32];
	size_t i;

	if (tb_settings_parse(saved_argc, saved_argv, NULL, 0, &cfg, msg,
			      sizeof(msg)) < 0) {
		tb_slog(TB_SLOG_ERROR, "reload (SIGHUP): %s; nothing changed, "
			"the server goes on with its running settings", msg);
		return;
	}
	if (!same(*cur, cfg, "log_level")) {
		tb_slog_set_level(level_of(tb_settings_get(cfg, "log_level")));
		snprintf(changed, sizeof(changed), "log_level %s -> %s",
			 tb_settings_get(*cur, "log_level"),
			 tb_settings_get(cfg, "log_level"));
	}
	live_ints(*cur, cfg, h, drain, changed, sizeof(changed));
	if (load(certs, cfg, &info, msg, sizeof(msg)) < 0) {
		tb_slog(TB_SLOG_ERROR, "reload: %s; keeping the certificate and "
			"key in use", msg);
	} else {
		if (info.changed) {
			snprintf(msg, sizeof(msg), "certificate (%s, notAfter %s)",
				 info.subject, tb_tlscert_time(info.not_after,
							       when));
			note(changed, sizeof(changed), msg);
		}
		expiry_warn(info.not_after);
	}
	for (i = 0; i < NRESTART; i++)
		if (!same(*cur, cfg, restart_keys[i]))
			note(restart, sizeof(restart), restart_keys[i]);
	if (restart[0])
		tb_slog(TB_SLOG_WARN, "reload: %s changed, which takes effect "
			"only at a restart; still using the running value%s",
			restart, strchr(restart, ',') ? "s" : "");
	tb_slog(TB_SLOG_INFO, "reload (SIGHUP): %s%s",
		changed[0] ? "changed " : "nothing changed",
		changed);
	tb_config_destroy(*owned);
	*owned = cfg;
	*cur = cfg;
}

int tb_reload_wait(const sigset_t *set, struct tb_https *h,
		   struct tb_tlscert *certs, const struct tb_config *cfg,
		   long *drain)
{
	const struct tb_config *cur = cfg;
	struct tb_config *owned = NULL;
	struct timespec every = { CHECK_EVERY_S, 0 };
	time_t warned = time(NULL);
	int sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &every);
		if (sig == SIGHUP) {
			reload(h, certs, &cur, &owned, drain);
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig < 0 && errno == EAGAIN &&
		    time(NULL) - warned >= 86400) { /* once a day */
			warned = time(NULL);
			expiry_warn(tb_tlscert_not_after(certs));
		}
	}
	tb_config_destroy(owned);
	return sig;
}
