/*
 * tests/unit/conffile.c: a configuration file's line cut into name and
 * value, as a table; then conffile_read over a folder made here: the main
 * file, its conf.d in the order of the names, comments and blank lines
 * gone, each line's number kept.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*line;
	const char	*name;		/* NULL: refused */
	const char	*value;		/* NULL: none */
} cases[] = {
	{ "workers 4", "workers", "4" },
	{ "  workers\t4  ", "workers", "4" },
	{ "workers 4\r", "workers", "4" },
	{ "nts-only", "nts-only", NULL },
	{ "nts-only   ", "nts-only", NULL },
	{ "listen tcp:[::1]:0/stamp+proxy", "listen",
	    "tcp:[::1]:0/stamp+proxy" },
	{ "max-conns2 1", "max-conns2", "1" },
	{ "workers 4 5", NULL, NULL },
	{ "--workers 4", NULL, NULL },
	{ "Workers 4", NULL, NULL },
	{ "workers=4", NULL, NULL },
	{ "work_ers 4", NULL, NULL },
	{ "-", NULL, NULL },
	{ "4workers 4", NULL, NULL },
	{ "", NULL, NULL },
	{ "   ", NULL, NULL },
};

static void
split_table(void)
{
	char		 buf[128], *name, *value;
	const char	*why;
	size_t		 i;

	for (i = 0; i < NELEM(cases); i++) {
		snprintf(buf, sizeof buf, "%s", cases[i].line);
		why = conffile_split(buf, &name, &value);
		if (cases[i].name == NULL) {
			ok(why != NULL, "'%s' refused (%s)", cases[i].line,
			    why != NULL ? why : "accepted");
			continue;
		}
		if (!ok(why == NULL, "'%s' accepted", cases[i].line)) {
			diag("why: %s", why);
			continue;
		}
		is_str(name, cases[i].name, "'%s': its name", cases[i].line);
		if (cases[i].value == NULL)
			ok(value == NULL, "'%s': no value", cases[i].line);
		else
			is_str(value != NULL ? value : "(none)",
			    cases[i].value, "'%s': its value", cases[i].line);
	}
}

static void
put(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF)
		bail("cannot write a file under the temporary folder");
}

/* What read_folder makes under its folder, in the order to remove it. */
static const char *const made[] = {
	"main.conf", "nul.conf", "conf.d/20-b.conf", "conf.d/10-a.conf",
	"conf.d/.hidden.conf", "conf.d/notes.txt", "conf.d/",
};

static void
read_folder(void)
{
	static struct conffile	 cf, none;
	char			 top[] = "/tmp/conffile.XXXXXX";
	char			 path[512], dir[256];
	const char		*bad;

	if (mkdtemp(top) == NULL)
		bail("mkdtemp");
	snprintf(path, sizeof path, "%s/main.conf", top);
	snprintf(dir, sizeof dir, "%s/conf.d", top);
	put(path, "# comment\n\nworkers 2  # two\nnts-only");
	if (mkdir(dir, 0700) == -1)
		bail("mkdir");
	snprintf(path, sizeof path, "%s/20-b.conf", dir);
	put(path, "workers 4\n");
	snprintf(path, sizeof path, "%s/10-a.conf", dir);
	put(path, "\n#x\nlinger 5\n");
	snprintf(path, sizeof path, "%s/.hidden.conf", dir);
	put(path, "workers 9\n");
	snprintf(path, sizeof path, "%s/notes.txt", dir);
	put(path, "workers 9\n");

	snprintf(path, sizeof path, "%s/main.conf", top);
	is_int(conffile_read(&cf, path, 1, &bad), 0, "a file and conf.d read");
	is_int((long long)cf.nfile, 3, "three files: main, 10-a, 20-b");
	is_int((long long)cf.n, 4, "four lines that are more than comments");
	if (cf.n == 4) {
		is_str(cf.line[0].text, "workers 2  ", "the main file first, "
		    "its comment cut");
		is_int(cf.line[0].no, 3, "  ... on line 3");
		is_str(cf.line[1].text, "nts-only", "a last line without "
		    "a newline");
		is_str(cf.line[2].text, "linger 5", "then 10-a.conf");
		is_int(cf.line[2].no, 3, "  ... its own line 3");
		like(cf.line[2].file, "/conf\\.d/10-a\\.conf$", "  ... named");
		is_str(cf.line[3].text, "workers 4", "then 20-b.conf");
	}

	/* Beside no conf.d either. */
	snprintf(path, sizeof path, "%s/none/absent.conf", top);
	is_int(conffile_read(&none, path, 0, &bad), 0,
	    "an absent file, not a must: no error");
	is_int((long long)none.n, 0, "  ... and no line");
	errno = 0;
	is_int(conffile_read(&none, path, 1, &bad), -1,
	    "an absent file that must be: -1");
	is_int(errno, ENOENT, "  ... ENOENT");
	is_str(bad, path, "  ... naming it");
	is_int(conffile_read(&none, top, 1, &bad), -1, "a folder: -1");
	is_int(errno, EISDIR, "  ... EISDIR");

	snprintf(path, sizeof path, "%s/nul.conf", top);
	put(path, "workers 2\n");
	if (truncate(path, 12) == -1)
		bail("truncate");
	is_int(conffile_read(&none, path, 1, &bad), -1, "a NUL byte: -1");
	is_int(errno, EINVAL, "  ... EINVAL");

	/* Leave nothing behind. */
	for (size_t i = 0; i < NELEM(made); i++) {
		snprintf(path, sizeof path, "%s/%s", top, made[i]);
		if ((made[i][strlen(made[i]) - 1] == '/' ? rmdir(path) :
		    unlink(path)) == -1)
			diag("could not remove %s: %s", path, strerror(errno));
	}
	if (rmdir(top) == -1)
		diag("could not remove %s: %s", top, strerror(errno));
}

int
main(void)
{
	split_table();
	read_folder();
	return done_testing();
}
