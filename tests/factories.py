import factory
from django.contrib.auth import get_user_model

from accounts.roles import Role, give_role
from incidents import actions
from incidents.models import Application, Membership, Service


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("secret-pass-123")

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if create and extracted:
            give_role(user, extracted)

    @factory.post_generation
    def services(user, create, extracted, **kwargs):
        for service in extracted or ():
            Membership.objects.create(user=user, service=service)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Service {n}")


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Application {n}")
    default_service = factory.SubFactory(ServiceFactory)


def open_ticket(*, by, reporter, application, service=None, criticality="blocking", gravity="severe", **extra):
    """A ticket opened through the real action, so it has its timeline."""
    return actions.open_ticket(
        by=by,
        reporter=reporter,
        application=application,
        service=service or application.default_service,
        title=extra.pop("title", "Error message at login"),
        description=extra.pop("description", "The login page shows an error."),
        gravity=gravity,
        criticality=criticality,
        channel=extra.pop("channel", "phone"),
    )


__all__ = ["ApplicationFactory", "Role", "ServiceFactory", "UserFactory", "open_ticket"]
