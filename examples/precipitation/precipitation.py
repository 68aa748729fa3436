"""Read daily precipitation files, total them by month, and plot a bar chart."""

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]
MM_PER_INCH = 25.4


def read(path):
    """Return a list of (date, mm) pairs read from a data file."""
    days = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            date, mm = line.split("\t")
            days.append((date, float(mm)))
    return days


def month_of(date):
    """Return the month (1-12) of a YYYY-MM-DD date."""
    return int(date[5:7])


def sum_by_month(days):
    """Return the 12 monthly totals of a list of (date, mm) pairs."""
    totals = [0.0] * 12
    for date, mm in days:
        totals[month_of(date) - 1] += mm
    return [round(total, 1) for total in totals]


def to_unit(values, unit):
    """Convert millimetre values to `unit` ("mm" or "in")."""
    if unit == "mm":
        return list(values)
    if unit == "in":
        return [round(value / MM_PER_INCH, 2) for value in values]
    raise ValueError("unknown unit: %r" % unit)


def bar(x, y, w, h, color):
    """Return an SVG rectangle."""
    return ('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
            % (x, y, w, h, color))


def text(x, y, content, anchor="middle", extra=""):
    """Return an SVG text element."""
    content = str(content).replace("&", "&amp;").replace("<", "&lt;")
    return ('<text x="%.1f" y="%.1f" text-anchor="%s"%s>%s</text>'
            % (x, y, anchor, extra, content))


def nice_max(value):
    """Round `value` up to a round number for the top of the y axis."""
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value > 0:
        step /= 10
    for factor in (1, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= factor * step:
            return factor * step


def create_bargraph(path, months, labels, *series, title="", unit="mm"):
    """Write a grouped bar chart (one group per month) as an SVG file."""
    width, height = 760, 420
    left, right, top, bottom = 70, 20, 50, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = nice_max(max(max(values) for values in series) or 1)
    group_w = plot_w / len(months)
    bar_w = group_w * 0.8 / len(series)

    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
             'width="%d" height="%d" viewBox="0 0 %d %d" '
             'font-family="sans-serif" font-size="12">'
             % (width, height, width, height),
             '<rect width="100%" height="100%" fill="white"/>',
             text(left, 28, title, anchor="start", extra=' font-size="16"')]
    for i in range(6):
        value = y_max * i / 5
        y = top + plot_h - plot_h * i / 5
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                     % (left, y, width - right, y))
        parts.append(text(left - 6, y + 4, "%g" % value, anchor="end"))
    for m, month in enumerate(months):
        x0 = left + m * group_w + group_w * 0.1
        for s, values in enumerate(series):
            h = plot_h * values[m] / y_max
            parts.append(bar(x0 + s * bar_w, top + plot_h - h, bar_w, h,
                             COLORS[s % len(COLORS)]))
        parts.append(text(left + (m + 0.5) * group_w, top + plot_h + 16, month))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
                 % (left, top + plot_h, width - right, top + plot_h))
    parts.append(text(left + plot_w / 2, height - 14, "Month"))
    parts.append(text(18, top + plot_h / 2, "Precipitation (%s)" % unit,
                      extra=' transform="rotate(-90 18 %.1f)"' % (top + plot_h / 2)))
    for s, label in enumerate(labels):
        x = width - right - 80 * (len(labels) - s)
        parts.append(bar(x, 12, 12, 12, COLORS[s % len(COLORS)]))
        parts.append(text(x + 16, 22, label, anchor="start"))
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
