from smarketing.core.choices import Capability


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"caps": set()}
    return {"caps": {c for c in Capability.values if user.can(c)}}
