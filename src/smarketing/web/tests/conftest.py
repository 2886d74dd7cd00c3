"""Fixtures for the web pages: signed-in clients per role and a contact with some history."""

import pytest
from django.test import Client

from smarketing.core.actors import Actor
from smarketing.core.testing import make_contact


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rep_client(rep):
    return signed_in(rep)


@pytest.fixture
def admin_client_(admin_user):
    return signed_in(admin_user)


@pytest.fixture
def contact(rep):
    return make_contact(
        stage="lead",
        first_name="Lucía",
        last_name="García",
        email="lucia@acme.test",
        owner=rep,
        actor=Actor(user=rep, rule="test"),
    )


HTMX = {"HTTP_HX_REQUEST": "true"}
