//! The [`UserStore::list`] filters and orders.
//!
//! Every test lists only users whose address holds its own unique tag, so that the stores may
//! be shared.

use time::Duration;

use super::users::sample_user;
use super::{TestProfile, now_seconds, unique_tag};
use crate::{Email, Roles, User, UserId, UserQuery, UserSort, UserStore};

/// A user of this test: address `<local>.<tag>@example.com`, no username, the given flags.
fn user(
    tag: &str,
    local: &str,
    active: bool,
    verified: bool,
    superuser: bool,
) -> User<TestProfile> {
    let mut user = sample_user(&format!("{tag}{local}"));
    user.email = Email::parse(&format!("{local}.{tag}@example.com")).unwrap();
    user.username = None;
    user.is_active = active;
    user.is_verified = verified;
    user.is_superuser = superuser;
    user.roles = Roles::new();
    user
}

/// The ids of every match, through pages of `page` users, checking each page's total.
async fn ids<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
    query: UserQuery,
    page: u32,
) -> Vec<UserId> {
    let first = store.list(&query.clone().with_limit(100)).await.unwrap();
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let next = store
            .list(&query.clone().with_limit(page).with_offset(offset))
            .await
            .unwrap();
        assert_eq!(next.total, first.total, "every page has the same total");
        if next.items.is_empty() {
            break;
        }
        assert!(next.items.len() <= page as usize);
        seen.extend(next.items.iter().map(|user| user.id));
        offset += u64::from(page);
    }
    assert_eq!(
        seen.len() as u64,
        first.total,
        "the pages hold every match once"
    );
    assert_eq!(
        seen,
        first.items.iter().map(|user| user.id).collect::<Vec<_>>(),
        "paging does not change the order"
    );
    seen
}

/// Sorted ids, to compare sets.
fn sorted(mut ids: Vec<UserId>) -> Vec<UserId> {
    ids.sort();
    ids
}

/// `is_active`, `is_verified` and `is_superuser` each keep exactly the users with that flag
/// (both values), and together they keep the users with all of them.
pub async fn list_filters_by_each_flag<S: UserStore<TestProfile> + ?Sized>(store: &S) {
    let tag = unique_tag();
    let mut users = Vec::new();
    for bits in 0..8u8 {
        let created = user(
            &tag,
            &format!("flags{bits}"),
            bits & 1 == 1,
            bits & 2 == 2,
            bits & 4 == 4,
        );
        store.create(&created).await.unwrap();
        users.push(created);
    }
    let base = UserQuery::default().with_email_contains(tag.clone());
    let expect = |keep: &dyn Fn(&User<TestProfile>) -> bool| {
        sorted(users.iter().filter(|u| keep(u)).map(|u| u.id).collect())
    };
    for flag in [true, false] {
        let active = ids(store, base.clone().with_active(flag), 3).await;
        assert_eq!(
            sorted(active),
            expect(&|u| u.is_active == flag),
            "is_active={flag}"
        );
        let verified = ids(store, base.clone().with_verified(flag), 3).await;
        assert_eq!(
            sorted(verified),
            expect(&|u| u.is_verified == flag),
            "is_verified={flag}"
        );
        let superuser = ids(store, base.clone().with_superuser(flag), 3).await;
        assert_eq!(
            sorted(superuser),
            expect(&|u| u.is_superuser == flag),
            "is_superuser={flag}"
        );
    }
    let all_three = ids(
        store,
        base.clone()
            .with_active(true)
            .with_verified(false)
            .with_superuser(true),
        2,
    )
    .await;
    assert_eq!(
        all_three,
        expect(&|u| u.is_active && !u.is_verified && u.is_superuser)
    );
    assert_eq!(all_three.len(), 1);
    assert_eq!(
        ids(store, base, 3).await.len(),
        8,
        "no flag filter keeps all"
    );
}

/// `role` keeps the users holding that exact role: not another case, not a prefix, not a
/// superuser without it.
pub async fn list_filters_by_role_exactly<S: UserStore<TestProfile> + ?Sized>(store: &S) {
    let tag = unique_tag();
    let editor = format!("editor-{tag}");
    let mut only = user(&tag, "only", true, true, false);
    only.roles = Roles::from_iter([editor.clone()]);
    let mut several = user(&tag, "several", true, true, false);
    several.roles = Roles::from_iter(["reader".to_owned(), editor.clone(), "author".to_owned()]);
    let mut other = user(&tag, "other", true, true, false);
    other.roles = Roles::from_iter([format!("Editor-{tag}"), format!("{editor}s")]);
    let none = user(&tag, "none", true, true, false);
    let boss = user(&tag, "boss", true, true, true);
    for created in [&only, &several, &other, &none, &boss] {
        store.create(created).await.unwrap();
    }
    let base = UserQuery::default().with_email_contains(tag.clone());
    let found = ids(store, base.clone().with_role(editor.clone()), 1).await;
    assert_eq!(sorted(found), sorted(vec![only.id, several.id]));
    let prefix = ids(store, base.clone().with_role("edit"), 1).await;
    assert!(prefix.is_empty(), "a prefix is not the role");
    let shouted = ids(store, base.clone().with_role(editor.to_uppercase()), 1).await;
    assert!(shouted.is_empty(), "roles are compared exactly");
    let with_others = ids(store, base.clone().with_role("reader"), 1).await;
    assert_eq!(with_others, vec![several.id]);
    let inactive = ids(store, base.with_role(editor).with_active(false), 1).await;
    assert!(inactive.is_empty(), "filters combine with AND");
}

/// Every order, both ways, ties broken by id in the same direction, and the default (id
/// order) unchanged; filters and pages combine with each.
pub async fn list_sorts_by_created_at_and_email<S: UserStore<TestProfile> + ?Sized>(store: &S) {
    let tag = unique_tag();
    let start = now_seconds();
    // Creation (id) order, address and `created_at` each in another order; two share a time.
    let spec = [
        ("delta", 3, true),
        ("Alpha", 1, false),
        ("charlie", 5, true),
        ("echo", 1, true),
        ("bravo", 4, false),
    ];
    let mut users = Vec::new();
    for (local, seconds, active) in spec {
        let mut created = user(&tag, local, active, true, false);
        created.created_at = start - Duration::days(1) + Duration::seconds(seconds);
        store.create(&created).await.unwrap();
        users.push(created);
    }
    let base = UserQuery::default().with_email_contains(tag.clone());
    let by = |sort: UserSort, keep: &dyn Fn(&User<TestProfile>) -> bool| {
        let mut chosen: Vec<&User<TestProfile>> = users.iter().filter(|u| keep(u)).collect();
        chosen.sort_by(|a, b| sort.compare(a, b));
        chosen.into_iter().map(|u| u.id).collect::<Vec<_>>()
    };
    let by_id = ids(store, base.clone(), 2).await;
    assert_eq!(by_id, users.iter().map(|u| u.id).collect::<Vec<_>>());
    assert_eq!(
        by_id,
        by(UserSort::Id, &|_| true),
        "the default is id order"
    );
    for sort in [
        UserSort::Id,
        UserSort::CreatedAt,
        UserSort::CreatedAtDesc,
        UserSort::Email,
        UserSort::EmailDesc,
    ] {
        let listed = ids(store, base.clone().with_sort(sort), 2).await;
        assert_eq!(listed, by(sort, &|_| true), "{sort:?}");
        let active = ids(store, base.clone().with_sort(sort).with_active(true), 2).await;
        assert_eq!(
            active,
            by(sort, &|u| u.is_active),
            "{sort:?} of the active users"
        );
    }
    // The expectations above, spelled out once, so that `UserSort::compare` is checked too.
    let locals = |listed: Vec<UserId>| -> Vec<String> {
        listed
            .iter()
            .map(|id| {
                let user = users.iter().find(|u| u.id == *id).unwrap();
                user.email.key().split('.').next().unwrap().to_owned()
            })
            .collect()
    };
    let emails = locals(ids(store, base.clone().with_sort(UserSort::Email), 2).await);
    assert_eq!(emails, ["alpha", "bravo", "charlie", "delta", "echo"]);
    let newest = locals(ids(store, base.clone().with_sort(UserSort::CreatedAtDesc), 2).await);
    assert_eq!(newest, ["charlie", "bravo", "delta", "echo", "alpha"]);
    let oldest = locals(ids(store, base.with_sort(UserSort::CreatedAt), 2).await);
    assert_eq!(oldest, ["alpha", "echo", "delta", "bravo", "charlie"]);
}

/// Filter values that mean something to SQL, `LIKE` or JSON are matched as literals:
/// wildcards, quotes, backslashes, brackets, and very long values.
pub async fn list_filters_take_hostile_values_literally<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let tag = unique_tag();
    let hostile = [
        "%".to_owned(),
        "_".to_owned(),
        "'".to_owned(),
        "\"".to_owned(),
        "\\".to_owned(),
        "\"]".to_owned(),
        "' OR '1'='1".to_owned(),
        "x\"]') OR 1=1 --".to_owned(),
        "%_!\\'\"".to_owned(),
    ];
    let mut holders = Vec::new();
    for (i, role) in hostile.iter().enumerate() {
        let mut created = user(&tag, &format!("h{i}"), true, true, false);
        created.roles = Roles::from_iter([format!("{role}{tag}")]);
        store.create(&created).await.unwrap();
        holders.push(created);
    }
    let plain = user(&tag, "plain", true, true, false);
    store.create(&plain).await.unwrap();
    let base = UserQuery::default().with_email_contains(tag.clone());
    for (role, holder) in hostile.iter().zip(&holders) {
        let found = ids(store, base.clone().with_role(format!("{role}{tag}")), 4).await;
        assert_eq!(found, vec![holder.id], "role {role:?} is one literal role");
        let bare = store
            .list(&UserQuery::default().with_role(role.clone()))
            .await
            .unwrap();
        assert!(
            bare.items.iter().all(|u| u.roles.contains(role)),
            "role {role:?} matched a user without it"
        );
    }
    for needle in ["%", "_", "'", "\"", "\\", "' OR '1'='1", "!"] {
        let page = store
            .list(&base.clone().with_email_contains(format!("{tag}{needle}")))
            .await
            .unwrap();
        assert_eq!(page.total, 0, "e-mail needle {needle:?} is literal");
    }
    let long = "%".repeat(10_000);
    let page = store
        .list(&base.clone().with_role(long.clone()))
        .await
        .unwrap();
    assert_eq!(
        page.total, 0,
        "a very long role matches nothing and breaks nothing"
    );
    let page = store
        .list(&UserQuery::default().with_email_contains(long))
        .await
        .unwrap();
    assert_eq!(
        page.total, 0,
        "a very long needle matches nothing and breaks nothing"
    );
    let everyone = ids(store, base, 4).await;
    assert_eq!(everyone.len(), hostile.len() + 1);
}
