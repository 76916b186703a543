"""Login with a username and password (a Django session), logout, and the user's API keys."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as start_session
from django.contrib.auth import logout as end_session
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import ApiKey
from apps.accounts.passwords import authenticate_password
from apps.accounts.throttling import LoginThrottled

from ..forms import ApiKeyForm, LoginForm
from .common import page

# The user was checked by authenticate_password (with its throttle); the session records this backend.
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


@require_http_methods(["GET", "POST"])
def login(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = authenticate_password(request, form.cleaned_data["username"], form.cleaned_data["password"])
        except LoginThrottled as exc:
            form.add_error(None, str(exc))
        else:
            if user is None:
                form.add_error(None, "Wrong username or password.")
            else:
                start_session(request, user, backend=SESSION_BACKEND)
                return redirect(_next_url(request))
    return render(request, "accounts/login.html", {"form": form, "next": _next_url(request)})


@require_POST
def logout(request):
    end_session(request)
    return redirect(settings.LOGIN_URL)


def export_lines(username: str, key: str) -> list[str]:
    """What the two generations of the official clients read: TUTUM_BASE_URL (2014) and TUTUM_REST_HOST (2015)."""
    api = settings.TUTUM_API_URL
    return [
        f"export TUTUM_BASE_URL={api}/api/v1/ TUTUM_USER={username} TUTUM_APIKEY={key}",
        f"export TUTUM_REST_HOST={api} TUTUM_USER={username} TUTUM_APIKEY={key}",
    ]


@page
@require_http_methods(["GET", "POST"])
def api_keys(request):
    """The active keys (never their secret). A key issued here is shown once, in the answer to the POST."""
    form = ApiKeyForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        row, key = ApiKey.issue(request.user, name=form.cleaned_data["name"])
        issued = {"row": row, "key": key, "exports": export_lines(request.user.username, key)}
        form = ApiKeyForm()
    keys = ApiKey.objects.active().filter(user=request.user, application_uuid__isnull=True).order_by("-created")
    context = {
        "form": form,
        "keys": keys,
        "issued": issued,
        "exports": export_lines(request.user.username, "<your key>"),
    }
    response = render(request, "accounts/api_keys.html", context)
    if issued:
        response["Cache-Control"] = "no-store"
    return response


@page
@require_POST
def revoke_key(request, key_id: int):
    key = get_object_or_404(ApiKey.objects.active(), pk=key_id, user=request.user)
    key.revoke()
    messages.success(request, f"Key {key.prefix}… revoked.")
    return redirect("dashboard:api_keys")
