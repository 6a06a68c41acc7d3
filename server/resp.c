/* resp.c - JSON responses and error bodies on an MHD connection (resp.h). */
#include "server/resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/mem.h"
#include "protocol/codec.h"

const char *tb_resp_code(unsigned status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "sequence_gap";
	case 413: return "too_large";
	case 415: return "unsupported_media_type";
	case 429: return "too_many_requests";
	case 503: return "unavailable";
	default: return "internal";
	}
}

static _Thread_local unsigned resp_last_status;
static _Thread_local char resp_last_reason[200];

void tb_resp_set_reason(const char *why)
{
	snprintf(resp_last_reason, sizeof(resp_last_reason), "%s",
		 why ? why : "");
}

void tb_resp_take_reason(char *buf, size_t len)
{
	if (buf && len)
		snprintf(buf, len, "%s", resp_last_reason);
	resp_last_reason[0] = '\0';
}

unsigned tb_resp_take_status(void)
{
	unsigned s = resp_last_status;

	resp_last_status = 0;
	return s;
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status,
			     struct MHD_Response *r)
{
	enum MHD_Result ret = MHD_queue_response(c, status, r);

	if (ret == MHD_YES)
		resp_last_status = status;
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result tb_resp_queue(struct MHD_Connection *c, unsigned status,
			      struct MHD_Response *r)
{
	return queue(c, status, r);
}

static struct MHD_Response *make_with(char *body, size_t len,
				      const char *ctype, void (*freefn)(void *))
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer_with_free_callback(len, body,
								freefn);
	if (!r) {
		freefn(body);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				ctype ? ctype : "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	return r;
}

static struct MHD_Response *make(char *body, size_t len, const char *ctype)
{
	return make_with(body, len, ctype, tb_free);
}

enum MHD_Result tb_resp_body(struct MHD_Connection *c, unsigned status,
			     char *body, size_t len, const char *ctype)
{
	struct MHD_Response *r = make(body, len, ctype);

	if (!r)
		return MHD_NO;
	return queue(c, status, r);
}

enum MHD_Result tb_resp_body_libc(struct MHD_Connection *c, unsigned status,
				  char *body, size_t len, const char *ctype)
{
	struct MHD_Response *r = make_with(body, len, ctype, free);

	if (!r)
		return MHD_NO;
	return queue(c, status, r);
}

void tb_resp_attachment(struct MHD_Response *r, const char *filename)
{
	char v[200];

	size_t n = strlen(filename);
	/* a PDF opens in the browser, to be printed (the dashboard's print
	 * button); a workbook is saved */
	int pdf = n > 4 && strcmp(filename + n - 4, ".pdf") == 0;

	snprintf(v, sizeof(v), "%s; filename=\"%s\"",
		 pdf ? "inline" : "attachment", filename);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, v);
}

enum MHD_Result tb_resp_download_libc(struct MHD_Connection *c,
				      unsigned status, char *body, size_t len,
				      const char *ctype, const char *filename)
{
	struct MHD_Response *r = make_with(body, len, ctype, free);

	if (!r)
		return MHD_NO;
	tb_resp_attachment(r, filename);
	return queue(c, status, r);
}

enum MHD_Result tb_resp_error(struct MHD_Connection *c,
			      const struct tb_resp_env *env, unsigned status,
			      const char *code, const char *message,
			      int64_t expected_seq, int close)
{
	struct MHD_Response *r;
	char *body = NULL;
	size_t len = 0;

	if (!code)
		code = tb_resp_code(status);
	if (tb_error_encode((int)status, code, message, expected_seq, &body,
			    &len) < 0) {
		static const char fallback[] =
			"{\"status\":503,\"error\":\"unavailable\","
			"\"message\":\"out of memory\"}";

		status = 503;
		body = tb_strdup(fallback);
		if (!body)
			return MHD_NO;
		len = strlen(body);
	}
	r = make(body, len, NULL);
	if (!r)
		return MHD_NO;
	if (status == 429 || status == 503) {
		char secs[24];

		snprintf(secs, sizeof(secs), "%ld",
			 env && env->retry_after > 0 ? env->retry_after : 5);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	}
	if (status == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"tienbo\"");
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (status >= 500 || status == 401 || status == 403)
		snprintf(resp_last_reason, sizeof(resp_last_reason), "%s",
			 message ? message : code);
	return queue(c, status, r);
}

enum MHD_Result tb_resp_not_allowed(struct MHD_Connection *c,
				    const char *allow, const char *path)
{
	struct MHD_Response *r;
	char *body = NULL, msg[160];
	size_t len = 0;

	snprintf(msg, sizeof(msg), "use %s on %.100s", allow, path);
	if (tb_error_encode(405, "method_not_allowed", msg, -1, &body, &len) < 0)
		return MHD_NO;
	r = make(body, len, NULL);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	return queue(c, 405, r);
}

enum MHD_Result tb_resp_errorf(struct MHD_Connection *c,
			       const struct tb_resp_env *env, unsigned status,
			       const char *fmt, ...)
{
	char msg[TB_MSG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tb_resp_error(c, env, status, NULL, msg, -1, 0);
}

const char *tb_resp_bearer(struct MHD_Connection *c, char *buf, size_t buflen)
{
	const char *v, *end;
	size_t len;

	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_AUTHORIZATION);
	if (!v)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
		return NULL;
	v += 6;
	while (*v == ' ' || *v == '\t')
		v++;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - v);
	if (len >= buflen)
		len = 0;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return buf;
}
