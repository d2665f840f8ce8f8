"""Samples of Deadline's own events/Spot/Spot.param, with and without access-key fields, for the tests.

The security-credential fields follow the Spot Event Plugin's Configure Events dialog (Use Local Credentials,
AWS Named Profile, Access Key ID, Secret Access Key).
"""

SPOT_PARAM_WITHOUT_KEY_FIELDS = """\
[State]
Type=Enum
Items=Global Enabled;Opt-In;Disabled
Label=State
Default=Disabled

[UseLocalCredentials]
Type=boolean
Label=Use Local Credentials
Default=False

[NamedProfile]
Type=string
Label=AWS Named Profile
Default=
"""

SPOT_PARAM_WITH_KEY_FIELDS = (
    SPOT_PARAM_WITHOUT_KEY_FIELDS
    + """
[AccessID]
Type=string
Label=Access Key ID
Default=

[SecretKey]
Type=password
Label=Secret Access Key
Default=

[Region]
Type=string
Label=Region
Default=us-west-2
"""
)

# The Spot Event Plugin's fleet and Resource Tracker settings, added to the samples above when a test needs them.
SPOT_PARAM_FLEET_SETTINGS = """
[Config]
Type=multilinestring
Label=Spot Fleet Request Configurations
Default={}

[ResourceTracker]
Type=boolean
Label=Use Resource Tracker
Default=True
"""
