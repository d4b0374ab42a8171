/*
 * opt.h: the command line of the three programs, read from a table.
 *
 * Each program describes its options once, as an array of struct opt:
 * the names getopt_long needs, where a value goes and the range it must
 * lie in, and the text of --help.  opt_next reads the next option, stores
 * what the table says, and returns its id for the program to act on the
 * rest.  This is the mains' own front end: like them, and unlike every
 * other module, it prints usage errors and exits 2.
 */
#ifndef STAMP_OPT_H
#define STAMP_OPT_H

#include <stddef.h>
#include <stdio.h>

/* What opt_next does with an option before returning its id. */
enum opt_kind {
	OPT_NONE,	/* no argument; the program acts */
	OPT_ARG,	/* an argument, in optarg; the program acts */
	OPT_FLAG,	/* no argument; the int field becomes 1 */
	OPT_STR,	/* the argument itself, into a const char * field */
	OPT_INT,	/* a whole number from min to max, into an int */
	OPT_LLONG,	/* the same, into a long long */
	OPT_SECS,	/* seconds, decimals allowed, into a long long of
			   milliseconds; min and max in milliseconds */
};

struct opt {
	const char	*name;	/* long name without dashes, or NULL */
	int		 id;	/* the short letter, or from OPT_LONG up */
	enum opt_kind	 kind;
	const char	*arg;	/* the argument as --help shows it */
	size_t		 off;	/* offsetof the field in the program's struct */
	long long	 min, max;
	long long	 dflt;	/* a number's value until the option is given */
	const char	*help;	/* lines for --help, '\n' apart; NULL: none */
};

/* The first id of an option that has no short letter. */
#define OPT_LONG	256

/* The most options a table may have; it ends with a zeroed entry. */
#define OPT_MAX		48

/*
 * Name the program, which begins every message, and give the function
 * that prints its usage lines, which follow every usage error.
 */
void	opt_init(const char *prog, void (*usage)(FILE *));

/*
 * Set each number of tab (OPT_INT, OPT_LLONG, OPT_SECS) in the struct at
 * base to its default.
 */
void	opt_defaults(const struct opt *tab, void *base);

/*
 * getopt_long over the table tab, which must stay the same from call to
 * call.  The value of an option of kind OPT_FLAG, OPT_STR, OPT_INT,
 * OPT_LLONG or OPT_SECS is stored into the struct at base; a bad one, an
 * unknown option or a missing argument is a usage error.  Returns the
 * option's id (optarg is its argument), or -1 after the last option
 * (optind is then the first operand).
 */
int	opt_next(int argc, char *argv[], const struct opt *tab, void *base);

/*
 * Read arg, the value of what (an option or an operand, as messages name
 * it), as a whole number from min to max; any other is a usage error.
 */
long long opt_number(const char *what, const char *arg, long long min,
	    long long max);

/*
 * Read arg, the value of what, as a duration from min_ms to max_ms
 * milliseconds: a number and its unit, "500ms" (whole) or "2s" (decimals
 * allowed).  A number without a unit counts bare milliseconds each
 * (1000: seconds, 1: milliseconds), what the option took before it had
 * units; when bare is 0 it is no duration, and -1 is returned for the
 * caller to read otherwise.  Any other is a usage error.
 */
long long opt_duration(const char *what, const char *arg, long long min_ms,
	    long long max_ms, long long bare);

/*
 * A usage error: "prog: " and the message on stderr, then the usage;
 * exit 2.  After opt_where, the message begins with that place; after
 * opt_journal(1), the line begins with "<3>" instead of "prog: ".  In
 * both cases a hint to --help ends the line in place of the usage.
 */
void	opt_fail(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Where the options now read come from, as messages name it (a
 * configuration file's "FILE:LINE"), until opt_where(NULL).  where must
 * live until then.
 */
void	opt_where(const char *where);

/*
 * on: stderr is systemd's journal, which reads a priority from "<N>" and
 * names the program itself; usage errors are then one line each.
 */
void	opt_journal(int on);

/*
 * One option given by its long name, as a configuration file's line has
 * it: name must be one of tab exactly (no abbreviation), value its
 * argument or NULL.  Stored as opt_next stores it; an unknown name, a
 * missing value or one given to an option that takes none, and a bad
 * value are usage errors.  Returns the option's id.
 */
int	opt_named(const struct opt *tab, void *base, const char *name,
	    const char *value);

/*
 * Print o's value in the struct at base as a configuration file's line,
 * "name value" (a flag alone when on).  The line is commented out with
 * '#' when off, or when the option is not set: a flag that is off, a
 * string that is NULL, a number below o->min.  Returns -1, printing
 * nothing, for a kind that stores nothing (OPT_NONE, OPT_ARG): the
 * program knows those values.
 */
int	opt_print(FILE *fp, const struct opt *o, const void *base,
	    int off);

/*
 * One option in --help: "  -l, --listen SPEC", padded, then its help
 * lines, or text in their place when text is not NULL.
 */
void	opt_help(FILE *fp, const struct opt *o, const char *text);

/*
 * --help when one line an option says it all: the usage, what the program
 * does (about), and each option of tab, on stdout; exit 0.
 */
void	opt_help_all(const struct opt *tab, const char *about)
	    __attribute__((noreturn));

/* --version: print "prog X.Y.Z" and exit 0. */
void	opt_version(void) __attribute__((noreturn));

#endif /* STAMP_OPT_H */
