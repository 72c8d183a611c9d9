"""help(mdfeed) is useful and mdfeed-python(3) covers the package: every public name of the
package, and every public method and property of its classes, has a docstring; the man page
names each of them and renders without warnings."""
import inspect
import os
import shutil
import subprocess
import sys

import harness
import mdfeed
import mdfeed.frames
import mdfeed.topics
from harness import check

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MAN = os.path.join(ROOT, "src", "python", "mdfeed-python.3")


def public(obj):
    for name, v in vars(obj).items():
        if not name.startswith("_") and (inspect.isfunction(v) or isinstance(v, property)):
            yield name, v


def main():
    undocumented = []
    names = []
    for name in mdfeed.__all__:
        v = getattr(mdfeed, name)
        if not isinstance(v, (int, str)) and not (v.__doc__ or "").strip():
            undocumented.append("mdfeed." + name)
        names.append(name)
    for cls in (mdfeed.Instance, mdfeed.Subscription, mdfeed.Batch, mdfeed.topics.Bus):
        check((cls.__doc__ or "").strip(), "%s has no docstring" % cls.__name__)
        for name, v in public(cls):
            doc = (v.fget.__doc__ if isinstance(v, property) else v.__doc__) or ""
            if not doc.strip():
                undocumented.append("%s.%s" % (cls.__name__, name))
            names.append(name)
    for mod in (mdfeed, mdfeed.topics, mdfeed.frames, sys.modules["mdfeed.health"]):
        check(len((mod.__doc__ or "").strip()) > 40, "module %s has no documentation"
              % mod.__name__)
    check(not undocumented, "no docstring: %s" % ", ".join(undocumented))
    text = open(MAN).read().replace("\\-", "-")
    missing = sorted({n for n in names if n not in text})
    check(not missing, "mdfeed-python(3) does not name %s" % ", ".join(missing))
    if shutil.which("man"):
        # (without the sanitizer suite's preloaded ASan runtime: groff is not ours to check)
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
        p = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True, text=True,
                           env=dict(env, MANWIDTH="100", MANPAGER="cat", PAGER="cat"))
        check(p.returncode == 0 and not p.stderr.strip(), "man -l: %s" % p.stderr)
        check("mdfeed.topics.Bus" in p.stdout, "the man page renders empty")
    print("docs: %d public names, each with a docstring and named in the man page"
          % len(names))


if __name__ == "__main__":
    main()
    sys.exit(0)
