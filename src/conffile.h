/*
 * conffile.h: stampd's configuration files, as lines.
 *
 * A file holds long options one a line, named as on the command line but
 * without the dashes: "name value", or a flag's name alone; '#' at the
 * start of a line or after a blank begins a comment; blank lines are
 * skipped.  conffile_read reads a main file, then the *.conf files of the
 * conf.d folder beside it in the order of their names; conffile_split
 * cuts one line (pure).  Nothing here knows which names exist (the
 * program's option table does), and nothing here prints.
 */
#ifndef STAMP_CONFFILE_H
#define STAMP_CONFFILE_H

#include <stddef.h>

/*
 * The file stampd reads when no --config names another: in the SYSCONFDIR
 * it was built with (the Makefile's; the package's is /etc).
 */
#ifndef STAMP_SYSCONFDIR
#define STAMP_SYSCONFDIR	"/etc"
#endif
#define CONFFILE_PATH	STAMP_SYSCONFDIR "/stampd/stampd.conf"
/* The drop-in folder, beside the main file. */
#define CONFFILE_DIR	"conf.d"
/* The most bytes one file may hold. */
#define CONFFILE_MAX	(1024 * 1024)

struct conffile_line {
	const char	*file;	/* as read: one of struct conffile's */
	unsigned	 no;	/* from 1 */
	char		*text;	/* a comment cut off; not blank */
};

/* What was read; it lives as long as the values taken from it. */
struct conffile {
	struct conffile_line	*line;
	size_t			 n;
	char			**file;	/* the files read, in order */
	size_t			 nfile;
	char			**kept;	/* every byte the above point to */
	size_t			 nkept;
};

/*
 * Read path, then the files NAME.conf of CONFFILE_DIR beside it (sorted
 * by name, regular files only, none hidden), appending their lines to cf.
 * A missing path is no error unless must; a missing folder never is, and
 * is read even when path is missing.  Returns 0, or -1 with errno and
 * *bad the file (or folder) that failed; EFBIG: more than CONFFILE_MAX
 * bytes, EINVAL: a NUL byte, EISDIR: path is a folder.
 */
int	conffile_read(struct conffile *cf, const char *path, int must,
	    const char **bad);

/*
 * Cut line, in place, into its option's name and value (*value NULL when
 * the line has a name alone).  Returns NULL, or why the line is none:
 * a name that is not a lowercase letter then lowercase letters, digits
 * and '-', or more than one value.
 */
const char *conffile_split(char *line, char **name, char **value);

#endif /* STAMP_CONFFILE_H */
