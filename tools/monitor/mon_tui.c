/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-monitor terminal view (ncurses): the text frame redrawn every
 * interval, stale reactors and processes in red, descheduled or moved
 * threads in yellow. 'q' quits.
 */
#include "mon.h"

#ifdef XS_HAVE_NCURSES
#include <curses.h>
#include <string.h>
#include <time.h>

static void draw(struct mon *m, double interval_s)
{
	struct mon_frame f;
	char title[256], when[64];
	time_t now = time(NULL);
	struct tm tm;

	memset(&f, 0, sizeof(f));
	mon_render_text(m, &f);
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(title, sizeof(title), "xsched-monitor  %s  every %.1fs  %d process%s  %s  (q quits)", when,
		 interval_s, m->np, m->np == 1 ? "" : "es", xs_metrics_dir(m->dir));
	erase();
	attron(A_REVERSE | A_BOLD);
	mvaddnstr(0, 0, title, COLS > 0 ? COLS : 80);
	for (int x = (int)strlen(title); x < COLS; x++)
		addch(' ');
	attroff(A_REVERSE | A_BOLD);
	for (int i = 0; i < f.n && i + 1 < LINES; i++) {
		int a = A_NORMAL;

		switch (f.attr[i]) {
		case MA_HEAD: a = A_BOLD; break;
		case MA_WARN: a = has_colors() ? COLOR_PAIR(2) | A_BOLD : A_BOLD; break;
		case MA_BAD: a = has_colors() ? COLOR_PAIR(1) | A_BOLD : A_REVERSE; break;
		case MA_DIM: a = A_DIM; break;
		}
		attron(a);
		mvaddnstr(i + 1, 0, f.line[i], COLS > 0 ? COLS : 80);
		attroff(a);
	}
	refresh();
	mon_frame_free(&f);
}

int mon_tui(struct mon *m, double interval_s)
{
	uint64_t next = 0, step = (uint64_t)(interval_s * 1e9);

	if (!initscr())
		return -1;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_RED, -1);
		init_pair(2, COLOR_YELLOW, -1);
	}
	timeout(100);
	while (!mon_stop) {
		uint64_t now = mon_now_ns();
		int ch;

		if (now >= next) {
			mon_rescan(m);
			mon_sample_all(m);
			draw(m, interval_s);
			next = now + step;
		}
		ch = getch();
		if (ch == 'q' || ch == 'Q')
			break;
		if (ch == KEY_RESIZE)
			draw(m, interval_s);
	}
	endwin();
	return 0;
}
#else
int mon_tui(struct mon *m, double interval_s)
{
	(void)m;
	(void)interval_s;
	return -1;
}
#endif
