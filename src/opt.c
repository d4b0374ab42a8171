/*
 * opt.c: the command line, read from a program's table of options.
 *
 * getopt_long's tables are built from the program's own, so that a name,
 * a letter, a range and a line of --help are written once.  Every number
 * goes through util's range checks.  getopt itself never prints (opterr
 * is 0): every message here has the one shape "prog: what: why", whatever
 * path the program was started by.  A configuration file's lines come
 * through the same table (opt_named), by their exact long names.  Nothing
 * but usage errors, --help, --version and the values a program asks to
 * show (opt_print) is printed here.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "proto.h"
#include "util.h"

/* The widest left column of --help, and the gap after it. */
#define HELP_COL	22
#define HELP_GAP	2

static const char	*prog = "stamp";
static void		(*usage)(FILE *);
static const char	*where;		/* a file's line being read */
static int		 journal;	/* stderr is journald's stream */

/* getopt_long's view of the table last given to opt_next. */
static const struct opt	*built;
static struct option	 longs[OPT_MAX + 1];
static char		 shorts[2 * OPT_MAX + 2];

void
opt_init(const char *name, void (*usage_lines)(FILE *))
{
	prog = name;
	usage = usage_lines;
	opterr = 0;
}

void
opt_fail(const char *fmt, ...)
{
	va_list	 ap;

	/* LOG_ERR: journald names the program itself. */
	if (journal)
		fputs("<3>", stderr);
	else
		fprintf(stderr, "%s: ", prog);
	if (where != NULL)
		fprintf(stderr, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	/* A file's line, or the journal: one line says it. */
	if (journal || where != NULL)
		fprintf(stderr, "; try %s --help\n", prog);
	else
		fputc('\n', stderr);
	if (usage != NULL && !journal && where == NULL)
		usage(stderr);
	exit(2);
}

void
opt_where(const char *place)
{
	where = place;
}

void
opt_journal(int on)
{
	journal = on;
}

void
opt_version(void)
{
	printf("%s %s\n", prog, STAMP_VERSION);
	exit(0);
}

static int
takes_arg(const struct opt *o)
{
	return o->kind != OPT_NONE && o->kind != OPT_FLAG;
}

/*
 * The leading ':' of the short options makes getopt tell a missing
 * argument (':') from an unknown option ('?').
 */
static void
build(const struct opt *tab)
{
	size_t	 i, nl = 0, ns = 0;

	shorts[ns++] = ':';
	for (i = 0; tab[i].id != 0 && i < OPT_MAX; i++) {
		if (tab[i].name != NULL) {
			longs[nl].name = tab[i].name;
			longs[nl].has_arg = takes_arg(&tab[i]) ?
			    required_argument : no_argument;
			longs[nl].flag = NULL;
			longs[nl++].val = tab[i].id;
		}
		if (tab[i].id < OPT_LONG) {
			shorts[ns++] = (char)tab[i].id;
			if (takes_arg(&tab[i]))
				shorts[ns++] = ':';
		}
	}
	memset(&longs[nl], 0, sizeof longs[nl]);
	shorts[ns] = '\0';
	built = tab;
}

static const struct opt *
find(const struct opt *tab, int id)
{
	for (; tab->id != 0; tab++)
		if (tab->id == id)
			return tab;
	return NULL;
}

/* The option as messages name it: its long name if it has one. */
static const char *
opt_name(const struct opt *o, char *buf, size_t len)
{
	if (o->name != NULL)
		snprintf(buf, len, "--%s", o->name);
	else
		snprintf(buf, len, "-%c", o->id);
	return buf;
}

long long
opt_number(const char *what, const char *arg, long long min, long long max)
{
	const char	*why;
	long long	 v;

	if ((why = util_number(arg, min, max, &v)) != NULL)
		opt_fail("%s %s: %s (want %lld to %lld)", what, arg, why, min,
		    max);
	return v;
}

static long long
seconds(const char *what, const char *arg, long long min_ms,
    long long max_ms)
{
	const char	*why;
	long long	 v;

	if ((why = util_seconds(arg, min_ms, max_ms, &v)) != NULL)
		opt_fail("%s %s: %s (want %.10g to %.10g)", what, arg, why,
		    min_ms / 1000.0, max_ms / 1000.0);
	return v;
}

long long
opt_duration(const char *what, const char *arg, long long min_ms,
    long long max_ms, long long bare)
{
	char		 num[32];
	const char	*why;
	size_t		 n = strlen(arg);
	long long	 unit, v;

	if (n > 2 && strcmp(arg + n - 2, "ms") == 0) {
		unit = 1;
		n -= 2;
	} else if (n > 1 && arg[n - 1] == 's') {
		unit = 1000;
		n--;
	} else if (bare == 0)
		return -1;
	else
		unit = bare;
	if (n >= sizeof num)
		opt_fail("%s %s: out of range", what, arg);
	memcpy(num, arg, n);
	num[n] = '\0';
	if (unit == 1)
		why = util_number(num, min_ms, max_ms, &v);
	else
		why = util_seconds(num, min_ms, max_ms, &v);
	if (why != NULL)
		opt_fail("%s %s: %s (want %.10gs to %.10gs, e.g. 500ms or 2s)",
		    what, arg, why, min_ms / 1000.0, max_ms / 1000.0);
	return v;
}

static void
store(const struct opt *o, const char *arg, char *field)
{
	char	 what[64];

	opt_name(o, what, sizeof what);
	switch (o->kind) {
	case OPT_FLAG:
		*(int *)(void *)field = 1;
		break;
	case OPT_STR:
		*(const char **)(void *)field = arg;
		break;
	case OPT_INT:
		*(int *)(void *)field = (int)opt_number(what, arg, o->min,
		    o->max);
		break;
	case OPT_LLONG:
		*(long long *)(void *)field = opt_number(what, arg, o->min,
		    o->max);
		break;
	case OPT_SECS:
		*(long long *)(void *)field = seconds(what, arg, o->min,
		    o->max);
		break;
	default:
		break;
	}
}

void
opt_defaults(const struct opt *tab, void *base)
{
	char	*field;

	for (; tab->id != 0; tab++) {
		field = (char *)base + tab->off;
		if (tab->kind == OPT_INT)
			*(int *)(void *)field = (int)tab->dflt;
		else if (tab->kind == OPT_LLONG || tab->kind == OPT_SECS)
			*(long long *)(void *)field = tab->dflt;
	}
}

/*
 * What getopt refused, named as the user wrote it.  optopt is 0 for an
 * unknown long option, and an option's own id when it was given an
 * argument it does not take ("--inetd=1").
 */
static void __attribute__((noreturn))
refused(int ch, char *argv[], const struct opt *tab)
{
	const char	*arg = argv[optind - 1];
	int		 islong = strncmp(arg, "--", 2) == 0;

	if (ch == ':' && islong)
		opt_fail("%s needs an argument", arg);
	if (ch == ':')
		opt_fail("-%c needs an argument", optopt);
	if (optopt == 0)
		opt_fail("unknown option %s", arg);
	if (islong && find(tab, optopt) != NULL)
		opt_fail("%.*s takes no argument", (int)strcspn(arg, "="),
		    arg);
	opt_fail("unknown option -%c", optopt);
}

int
opt_next(int argc, char *argv[], const struct opt *tab, void *base)
{
	const struct opt	*o;
	int			 ch;

	if (tab != built)
		build(tab);
	if ((ch = getopt_long(argc, argv, shorts, longs, NULL)) == -1)
		return -1;
	if (ch == ':' || ch == '?' || (o = find(tab, ch)) == NULL)
		refused(ch, argv, tab);
	store(o, optarg, (char *)base + o->off);
	return ch;
}

int
opt_named(const struct opt *tab, void *base, const char *name,
    const char *value)
{
	const struct opt	*o;

	for (o = tab; o->id != 0; o++)
		if (o->name != NULL && strcmp(o->name, name) == 0)
			break;
	if (o->id == 0)
		opt_fail("unknown option %s", name);
	if (takes_arg(o) && value == NULL)
		opt_fail("%s needs a value", name);
	if (!takes_arg(o) && value != NULL)
		opt_fail("%s takes no value", name);
	store(o, value, (char *)base + o->off);
	return o->id;
}

int
opt_print(FILE *fp, const struct opt *o, const void *base, int off)
{
	const char	*field = (const char *)base + o->off;
	const char	*s = NULL;
	long long	 v = 0;

	switch (o->kind) {
	case OPT_FLAG:
		off |= *(const int *)(const void *)field == 0;
		break;
	case OPT_STR:
		s = *(const char *const *)(const void *)field;
		off |= s == NULL;
		break;
	case OPT_INT:
		v = *(const int *)(const void *)field;
		break;
	case OPT_LLONG:
	case OPT_SECS:
		v = *(const long long *)(const void *)field;
		break;
	default:
		return -1;
	}
	if (o->kind != OPT_FLAG && o->kind != OPT_STR)
		off |= v < o->min;
	fprintf(fp, "%s%s", off ? "# " : "", o->name);
	if (s != NULL)
		fprintf(fp, " %s", s);
	else if (o->kind == OPT_SECS && v >= o->min)
		fprintf(fp, " %.10g", v / 1000.0);
	else if (o->kind != OPT_FLAG && o->kind != OPT_STR && v >= o->min)
		fprintf(fp, " %lld", v);
	fputc('\n', fp);
	return 0;
}

void
opt_help(FILE *fp, const struct opt *o, const char *text)
{
	char	 left[64];
	int	 n;

	if (o->id < OPT_LONG && o->name != NULL)
		n = snprintf(left, sizeof left, "  -%c, --%s", o->id,
		    o->name);
	else if (o->id < OPT_LONG)
		n = snprintf(left, sizeof left, "  -%c", o->id);
	else
		n = snprintf(left, sizeof left, "      --%s", o->name);
	if (o->arg != NULL && n > 0 && (size_t)n < sizeof left)
		snprintf(left + n, sizeof left - (size_t)n, " %s", o->arg);
	fprintf(fp, "%-*s%*s", HELP_COL, left, HELP_GAP, "");
	/* Each later line of the text starts under the first. */
	if (text == NULL && (text = o->help) == NULL)
		text = "";
	for (; *text != '\0'; text++)
		if (*text == '\n')
			fprintf(fp, "\n%*s", HELP_COL + HELP_GAP, "");
		else
			fputc(*text, fp);
	fputc('\n', fp);
}

void
opt_help_all(const struct opt *tab, const char *about)
{
	if (usage != NULL)
		usage(stdout);
	printf("\n%s\n\n", about);
	for (; tab->id != 0; tab++)
		opt_help(stdout, tab, NULL);
	exit(0);
}
