from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class DefinitionsConfig(AppConfig):
    name = "smarketing.definitions"
    label = "definitions"
    verbose_name = "Shared definitions"

    def ready(self) -> None:
        from smarketing.crm.models import PropertyDefinition
        from smarketing.definitions.models import DefinitionVersion
        from smarketing.definitions.selectors import forget_compiled_rule_sets

        for model in (DefinitionVersion, PropertyDefinition):
            post_save.connect(
                forget_compiled_rule_sets,
                sender=model,
                dispatch_uid=f"forget-rules-{model.__name__}",
            )
            post_delete.connect(
                forget_compiled_rule_sets,
                sender=model,
                dispatch_uid=f"forget-rules-del-{model.__name__}",
            )
