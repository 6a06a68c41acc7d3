/* fake_mhd.c - the libmicrohttpd calls of the server's handlers, in
 * memory (fake_mhd.h). Header names compare without regard to case, as
 * MHD does. */
#include "fuzz/fake_mhd.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

struct MHD_Response {
	void *buf;
	size_t len;
	MHD_ContentReaderFreeCallback free_cb;
	int retry_after, www_authenticate;
};

void fake_mhd_reset(struct MHD_Connection *c)
{
	free(c->body);
	memset(c, 0, sizeof(*c));
}

void fake_mhd_header(struct MHD_Connection *c, const char *name,
		     const char *value)
{
	if (c->nheaders == FAKE_MHD_MAX_HEADERS)
		return;
	c->headers[c->nheaders].name = name;
	c->headers[c->nheaders].value = value;
	c->nheaders++;
}

const char *MHD_lookup_connection_value(struct MHD_Connection *c,
					enum MHD_ValueKind kind,
					const char *key)
{
	if (kind != MHD_HEADER_KIND || !key)
		return NULL;
	for (size_t i = 0; i < c->nheaders; i++)
		if (strcasecmp(c->headers[i].name, key) == 0)
			return c->headers[i].value;
	return NULL;
}

struct MHD_Response *MHD_create_response_from_buffer_with_free_callback(
	size_t size, void *buffer, MHD_ContentReaderFreeCallback crfc)
{
	struct MHD_Response *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->buf = buffer;
	r->len = size;
	r->free_cb = crfc;
	return r;
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r,
					const char *header, const char *content)
{
	if (!r || !header || !content)
		return MHD_NO;
	if (strcasecmp(header, MHD_HTTP_HEADER_RETRY_AFTER) == 0)
		r->retry_after = 1;
	if (strcasecmp(header, MHD_HTTP_HEADER_WWW_AUTHENTICATE) == 0)
		r->www_authenticate = 1;
	return MHD_YES;
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c,
				   unsigned int status_code,
				   struct MHD_Response *r)
{
	if (!c || !r)
		return MHD_NO;
	c->queued++;
	if (c->queued > 1)
		return MHD_NO; /* MHD: a reply was queued already */
	c->status = status_code;
	c->body = malloc(r->len + 1);
	if (!c->body)
		abort();
	if (r->len)
		memcpy(c->body, r->buf, r->len);
	c->body[r->len] = '\0';
	c->body_len = r->len;
	c->retry_after = r->retry_after;
	c->www_authenticate = r->www_authenticate;
	return MHD_YES;
}

void MHD_destroy_response(struct MHD_Response *r)
{
	if (!r)
		return;
	if (r->free_cb)
		r->free_cb(r->buf);
	free(r);
}
