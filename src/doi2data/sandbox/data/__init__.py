"""Dataset declarations of the emulated sites, one module per site (no bytes stored: seeds).

Each site's emulator (``sandbox/sites/<site>.py``) and each registry that lists DOIs for the world
(:mod:`doi2data.sandbox.general`, :mod:`doi2data.sandbox.facilities`,
:mod:`doi2data.sandbox.mendeley_pangaea`) import these modules; they import neither, so imports
point one way. :mod:`.common` and :mod:`.facility_files` hold the small helpers the declarations use.
"""
