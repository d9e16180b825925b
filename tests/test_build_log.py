"""make package / make's pip installs: known-harmless messages are counted in one line, anything else shown."""
from installer.build_log import split, summary

PYINSTALLER = """\
47 INFO: PyInstaller: 6.22.3, contrib hooks: 2026.10
1253 WARNING: Failed to collect submodules for 'scipy._lib.array_api_compat.torch' because importing it raised
111522 WARNING: Hidden import "pycparser.lextab" not found!
120381 WARNING: Library shell32 required via ctypes not found
127881 WARNING: Library not found: could not resolve 'libmpi.so.40', dependency of '/v/site-packages/mindspore/lib/libmpi_collective.so'.
127900 WARNING: Library not found: could not resolve 'libascendcl.so', dependency of '/v/site-packages/mindspore/lib/plugin/ascend/libx.so'.
127901 WARNING: Library not found: could not resolve 'libQnnHtp.so', dependency of '/v/site-packages/ai_edge_litert/vendors/qualcomm/a.so'.
130000 ERROR: Hidden import 'typing.io' not found
130001 WARNING: Library not found: could not resolve 'libopencv_core.so.4', dependency of '/v/site-packages/cv2/cv2.so'.
130002 ERROR: Hidden import 'app.core.models.deploy' not found
""".splitlines(keepends=True)

PIP = """\
  /tmp/x/setuptools/command/editable_wheel.py:354: BuildBackendWarning: Editable installation.
  !!
          ****************
          Please be careful with folders in your working directory with the same
          ****************
  !!
    with strategy, WheelFile(wheel_path, "w") as wheel_obj:
ERROR: Could not find a version that satisfies the requirement nothing-like-it
""".splitlines(keepends=True)


def test_harmless_lines_are_counted_and_the_rest_shown():
    shown, left_out = split(PYINSTALLER)
    assert [line.split()[1] for line in shown] == ["INFO:", "WARNING:", "ERROR:"]
    assert "libopencv_core" in shown[1] and "app.core.models.deploy" in shown[2]  # ours: never hidden
    assert sum(left_out.values()) == 7
    line = summary(left_out, "build/pyinstaller-full.log")
    assert line.startswith("7 known-harmless messages left out") and "build/pyinstaller-full.log" in line


def test_the_setuptools_notice_is_one_block_and_a_real_error_stays():
    shown, left_out = split(PIP)
    assert shown == [PIP[-1]] and sum(left_out.values()) == 1
    assert summary(split(shown)[1]) is None
