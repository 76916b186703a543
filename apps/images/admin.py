from django.contrib import admin

from .models import Image, ImageTag, Registry


class ImageTagInline(admin.TabularInline):
    model = ImageTag
    extra = 0
    fields = ("name", "docker_id", "author", "run_command", "entrypoint", "image_creation", "modified")
    readonly_fields = fields
    can_delete = False


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    """Jumpstarts (`starred`) and base images are flags set here, on shared images (no owner)."""

    list_display = ("name", "owner", "registry", "starred", "base_image", "is_private_image")
    list_editable = ("starred", "base_image")
    list_filter = ("starred", "base_image", "is_private_image", "registry")
    search_fields = ("name", "owner__username", "description")
    # The encrypted password is not even shown: credentials change through the API, which checks them.
    fields = ("name", "owner", "registry", "description", "starred", "base_image", "cluster_aware")
    readonly_fields = ("owner",)
    inlines = [ImageTagInline]


@admin.register(Registry)
class RegistryAdmin(admin.ModelAdmin):
    list_display = ("host", "name", "is_tutum_registry")
    search_fields = ("host", "name")
