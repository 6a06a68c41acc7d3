/* labels.c - the Vietnamese names of kinds, fields, choices and the
 * envelope (common/labels.h).
 *
 * Data, not translations: a Vietnamese sheet's column titles must be read
 * the same whatever language the program's own messages are in, so these
 * are not in the gettext catalog. A field shared by several kinds (title,
 * ban_members) has one label everywhere. The agent (template, import,
 * interactive forms) and the server's Excel export both read these tables.
 */
#include "common/labels.h"

#include <string.h>

struct label {
	const char *name;
	const char *vi;
};

/* clang-format off */
static const struct label field_labels[] = {
	{ "title", "Tên hoạt động" },
	{ "parents", "Phụ huynh" },
	{ "students", "Học sinh" },
	{ "teachers_staff", "Giáo viên và nhân viên" },
	{ "officials", "Cán bộ địa phương" },
	{ "occasion", "Dịp" },
	{ "channel", "Hình thức" },
	{ "topic", "Chủ đề" },
	{ "participants", "Số người tham gia" },
	{ "female", "Số nữ" },
	{ "ban_members", "Thành viên Ban VSTBPN" },
	{ "women_in_planning", "Nữ trong quy hoạch" },
	{ "communicators", "Tuyên truyền viên" },
	{ "url", "Địa chỉ bài đăng" },
	{ "ban_members_trained", "Thành viên Ban VSTBPN được tập huấn" },
	{ "women_in_planning_trained", "Nữ trong quy hoạch được bồi dưỡng" },
	{ "key_posts", "Vị trí lãnh đạo chủ chốt" },
	{ "key_posts_women", "Vị trí chủ chốt do nữ đảm nhiệm" },
	{ "masters", "Thạc sĩ" },
	{ "masters_female", "Thạc sĩ nữ" },
	{ "doctors", "Tiến sĩ" },
	{ "doctors_female", "Tiến sĩ nữ" },
	{ "science_tasks", "Nhiệm vụ khoa học công nghệ" },
	{ "science_tasks_women_led", "Nhiệm vụ do nữ chủ trì" },
	{ "nursery_age_children", "Trẻ độ tuổi nhà trẻ" },
	{ "nursery_age_enrolled", "Trẻ nhà trẻ được đến trường" },
	{ "kindergarten_age_children", "Trẻ độ tuổi mẫu giáo" },
	{ "kindergarten_age_enrolled", "Trẻ mẫu giáo được đến trường" },
	{ "em_primary_cohort", "HS dân tộc thiểu số khóa tiểu học" },
	{ "em_primary_completed", "HS dân tộc thiểu số hoàn thành tiểu học" },
	{ "em_lower_secondary_cohort", "HS dân tộc thiểu số khóa THCS" },
	{ "em_lower_secondary_completed",
	  "HS dân tộc thiểu số hoàn thành THCS" },
	{ "women_adults", "Phụ nữ trong độ tuổi trưởng thành" },
	{ "women_literate", "Phụ nữ biết chữ" },
	{ "em_women_adults", "Phụ nữ DTTS, miền núi trưởng thành" },
	{ "em_women_literate", "Phụ nữ DTTS, miền núi biết chữ" },
	{ "website_section", "Chuyên mục bình đẳng giới trên website" },
	{ "curriculum_content", "Nội dung giới trong chương trình học" },
	{ "legal_outreach", "Tuyên truyền pháp luật cho phụ nữ" },
};

static const char *const kind_labels[TB_KIND_COUNT] = {
	[TB_KIND_OUTREACH] = "Tuyên truyền",
	[TB_KIND_TRAINING] = "Tập huấn",
	[TB_KIND_ACTION_MONTH] = "Tháng hành động",
	[TB_KIND_WEB_POST] = "Bài đăng website",
	[TB_KIND_SNAPSHOT] = "Số liệu đơn vị",
};

static const struct label choice_labels[] = {
	{ "womens-day", "Ngày Quốc tế Phụ nữ" },
	{ "happiness-day", "Ngày Quốc tế Hạnh phúc" },
	{ "family-day", "Ngày Gia đình Việt Nam" },
	{ "action-month", "Tháng hành động" },
	{ "other", "Khác" },
	{ "meeting", "Họp" },
	{ "event", "Sự kiện" },
	{ "print", "Ấn phẩm" },
	{ "web", "Trang web" },
	{ "radio", "Phát thanh" },
	{ "social-media", "Mạng xã hội" },
};

static const char *const womens_day[] = { "8/3", "08/03", NULL };
static const char *const happiness_day[] = { "20/3", NULL };
static const char *const family_day[] = { "28/6", NULL };
static const char *const meeting[] = { "Cuộc họp", NULL };
static const char *const print[] = { "In ấn", NULL };
static const char *const web[] = { "Website", NULL };
static const char *const social[] = { "Facebook", "Zalo", NULL };
/* clang-format on */

static const struct {
	const char *code;
	const char *const *spellings;
} choice_aliases[] = {
	{"womens-day", womens_day}, {"happiness-day", happiness_day},
	{"family-day", family_day}, {"meeting", meeting},
	{"print", print},           {"web", web},
	{"social-media", social},
};

#define N(t) (sizeof(t) / sizeof((t)[0]))

static const char *find(const struct label *t, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].vi;
	return NULL;
}

const char *tb_label_field_vi(const char *name)
{
	return find(field_labels, N(field_labels), name);
}

const char *tb_label_kind_vi(enum tb_kind kind)
{
	if ((int)kind < 0 || kind >= TB_KIND_COUNT)
		return NULL;
	return kind_labels[kind];
}

const char *tb_label_choice_vi(const char *code)
{
	return find(choice_labels, N(choice_labels), code);
}

const char *const *tb_label_choice_aliases(const char *code)
{
	for (size_t i = 0; code && i < N(choice_aliases); i++)
		if (strcmp(choice_aliases[i].code, code) == 0)
			return choice_aliases[i].spellings;
	return NULL;
}

/* The envelope's columns, worded as the agent's `show` words them. */
static const struct label envelope_labels[] = {
	{ "kind", TB_LABEL_KIND },
	{ "id", "Mã bản ghi" },
	{ "school", "Mã trường" },
	{ "date", TB_LABEL_DATE },
	{ "revision", "Lần sửa" },
	{ "voided", "Đã hủy" },
	{ "void_reason", "Lý do hủy" },
	{ "recorded_at", "Ghi lúc" },
	{ "device", "Máy" },
	{ "seq", "Số thứ tự" },
};

const char *tb_label_envelope_vi(const char *name)
{
	return find(envelope_labels, N(envelope_labels), name);
}
