"""LTI 1.3 adapter on pylti1p3 (registrations, login, launch, JWKS, deep linking, AGS, NRPS).

Built by the LTI issues; it implements the LMS ports of ``plugin.kernel.ports``.
"""
