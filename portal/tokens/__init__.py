"""Hardware OATH tokens.

Importing this package plugs the hardware token into the shared seams: its matcher for
second_factor.check_code and what removing its device does (the token goes back to the inventory).
"""

from .. import device_actions, second_factor
from . import service

second_factor.MATCHERS["hardware"] = service.HardwareMatcher()
device_actions.ON_REMOVE["hardware"] = service.release
